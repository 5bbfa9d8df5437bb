// The reading half of the simulation's workload: random range reads on random nodes, and a few
// long-lived tails, each on its own node, that start again (from the first retained seq) after
// their node crashes and returns. Everything they see goes into the Recorder with the node's
// commitSeq at the time of asking, for the history checker.

import type { SeededRandom } from '../../src/time/random.js';
import { codeOf } from './client.js';
import { viewOf } from './node-view.js';
import type { Recorder, TailSession } from './recorder.js';
import type { SimCluster, SimNode } from './sim-cluster.js';

/** Mean virtual time between two range reads. */
const READ_EVERY_MS = 50;
/** Longest range a read asks for. */
const READ_SPAN_MAX = 32;

interface TailSlot {
  readonly node: SimNode;
  session: TailSession | null;
  life: number;
}

const decoder = new TextDecoder();

export class Readers {
  readonly #cluster: SimCluster;
  readonly #recorder: Recorder;
  readonly #random: SeededRandom;
  readonly #slots: TailSlot[] = [];
  readonly #running: Promise<void>[] = [];
  reads = 0;
  readErrors = 0;

  constructor(cluster: SimCluster, recorder: Recorder, random: SeededRandom, tails: number) {
    this.#cluster = cluster;
    this.#recorder = recorder;
    this.#random = random;
    for (let i = 0; i < tails; i++) {
      const node = cluster.nodes[random.nextInt(cluster.nodes.length)]!;
      this.#slots.push({ node, session: null, life: -1 });
    }
  }

  /** One step of the workload: maybe a read, and (re)start any tail whose node is up again. */
  step(stepMs: number): void {
    for (const slot of this.#slots) {
      const ended = slot.session === null || slot.session.end !== null;
      if (
        ended &&
        slot.node.up &&
        (slot.life !== slot.node.starts || slot.session?.end !== 'closed')
      )
        this.#startTail(slot);
    }
    if (this.#random.nextFloat() < stepMs / READ_EVERY_MS) this.#read();
  }

  /** Waits for every tail loop to end (their files close with the cluster). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#running);
  }

  #read(): void {
    const up = this.#cluster.upNodes();
    if (up.length === 0) return;
    const node = up[this.#random.nextInt(up.length)]!;
    const file = node.file!;
    const from = this.#random.nextInt(file.nextSeq + 1);
    const to = from + 1 + this.#random.nextInt(READ_SPAN_MAX);
    const invokeMs = this.#cluster.clock.nowMs();
    const committedBelow = viewOf(node).commitSeq;
    this.reads++;
    this.#running.push(
      file.readRange(from, to).then(
        (events) => {
          this.#recorder.read({
            node: node.name,
            from,
            to,
            invokeMs,
            completeMs: this.#cluster.clock.nowMs(),
            committedBelow,
            events: events.map((event) => ({
              seq: event.seq,
              payload: decoder.decode(event.payload),
            })),
          });
        },
        () => {
          this.readErrors++; // a crash closed the file under the read: nothing was seen
        },
      ),
    );
  }

  #startTail(slot: TailSlot): void {
    const node = slot.node;
    const file = node.file!;
    const fromSeq = file.firstSeq ?? file.nextSeq;
    const session = this.#recorder.startTail(node.name, fromSeq, this.#cluster.clock.nowMs());
    slot.session = session;
    slot.life = node.starts;
    this.#cluster.trace.add(`${node.name} tail #${session.id} from ${fromSeq}`);
    const tail = file.tail({ fromSeq });
    const consume = async () => {
      try {
        for (;;) {
          const committedBelow = node.file === file ? viewOf(node).commitSeq : undefined;
          const next = await tail.next();
          if (next.done) {
            session.end = 'closed';
            return;
          }
          this.#recorder.deliver(session, {
            seq: next.value.seq,
            payload: decoder.decode(next.value.payload),
            atMs: this.#cluster.clock.nowMs(),
            committedBelow,
          });
        }
      } catch (error) {
        session.end = codeOf(error);
      }
    };
    this.#running.push(consume());
  }
}
