// A worker thread that plays another process on the same SQLite file: its own connection,
// racing the other workers round by round (a shared-memory barrier lines up each round's start).
import { parentPort, workerData } from 'node:worker_threads';
import { sqliteStore } from '../../src/stores/sqlite-store.js';

export interface RacerData {
  readonly path: string;
  readonly id: number;
  readonly workers: number;
  readonly rounds: number;
  /** An Int32Array's buffer: slot 0 counts arrivals at the barrier. */
  readonly barrier: SharedArrayBuffer;
}

/** Per round: `ok`, `refused:<actual>` or `error:<message>`. */
export type RacerOutcome = string;

const data = workerData as RacerData;
const arrivals = new Int32Array(data.barrier);
const store = sqliteStore({ path: data.path });
const outcomes: RacerOutcome[] = [];
for (let round = 0; round < data.rounds; round++) {
  Atomics.add(arrivals, 0, 1);
  Atomics.notify(arrivals, 0);
  const target = data.workers * (round + 1);
  for (let seen = Atomics.load(arrivals, 0); seen < target; seen = Atomics.load(arrivals, 0)) {
    Atomics.wait(arrivals, 0, seen);
  }
  try {
    const [result] = await store.write([
      {
        kind: 'events',
        persistenceId: `race-${round}`,
        expectedSeq: 0,
        events: [{ payload: `w${data.id}` }],
      },
      { kind: 'state', persistenceId: `race-${round}`, expectedRevision: 0, payload: `w${data.id}` },
    ]);
    outcomes.push(result?.ok === true ? 'ok' : `refused:${result?.actual}`);
  } catch (error) {
    outcomes.push(`error:${error instanceof Error ? error.message : String(error)}`);
  }
}
await store.close();
parentPort?.postMessage(outcomes);
