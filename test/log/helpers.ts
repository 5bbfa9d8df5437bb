import type { RedexFileConfig } from '../../src/log/config.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(payload: Uint8Array): string {
  return decoder.decode(payload);
}

export async function openMemoryFile(
  config: RedexFileConfig = {},
  name = 'test/log',
): Promise<{ redex: Redex; file: RedexFile; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const redex = new Redex({ clock });
  const file = await redex.openFile(name, config);
  return { redex, file, clock };
}

/** Appends `count` events whose payload is `event-<seq>`. */
export async function appendNumbered(file: RedexFile, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await file.append(bytes(`event-${file.nextSeq}`));
}
