// @peculiar/x509 loaded on first use. It needs the `reflect-metadata` polyfill, which patches the
// global `Reflect` object, and it is slow to load; importing the package root must do neither.
// Only certificate creation and signing wait for it (checking certificates uses node:crypto).

import { webcrypto } from 'node:crypto';

export type X509Module = typeof import('@peculiar/x509');

let loading: Promise<X509Module> | null = null;

/** The x509 module with its crypto provider set to Node's WebCrypto; loaded once. */
export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    // @peculiar/x509 2.x throws at import without the polyfill, so it goes first.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  // A failed load (a broken install) is not cached, so the next call reports it again.
  loading.catch(() => {
    loading = null;
  });
  return loading;
}
