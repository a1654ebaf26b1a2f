/**
 * A process that uses a SQLite store where the operating system refuses writes, for
 * sqlite-failures.test.ts (run as another user, or under a file-size limit):
 *
 *   sqlite-child.ts <db> <big-payload-bytes>
 *
 * Reads, then writes one event of the given size, then one small event, then reads again, and
 * prints one JSON line per step: `{ step, ok, name?, reason?, mayHaveCommitted?, code? }`. It
 * exits 0 when it got to the end: whatever the store did, it did not crash the process.
 */
import { StoreUnavailableError, sqliteStore } from '../../src/index.js';

const [path, big] = process.argv.slice(2) as [string, string];

const report = (step: string, outcome: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ step, ...outcome })}\n`);

async function attempt(step: string, body: () => Promise<unknown>): Promise<void> {
  try {
    const value = await body();
    report(step, { ok: true, value });
  } catch (error) {
    const e = error as Error & { code?: string };
    report(step, {
      ok: false,
      name: e.name,
      message: e.message,
      ...(error instanceof StoreUnavailableError
        ? {
            reason: error.reason,
            mayHaveCommitted: error.mayHaveCommitted,
            code: (error.cause as { code?: string }).code,
          }
        : { code: e.code }),
    });
  }
}

let store: ReturnType<typeof sqliteStore> | undefined;
await attempt('open', async () => {
  store = sqliteStore({ path });
  return store.name;
});
if (store !== undefined) {
  const s = store;
  await attempt('read', () => s.highestSeq('a'));
  const seq = await s.highestSeq('a').catch(() => 0);
  await attempt('write big', () =>
    s.write([
      {
        kind: 'events',
        persistenceId: 'a',
        expectedSeq: seq,
        events: [{ payload: 'x'.repeat(Number(big)) }],
      },
    ]),
  );
  await attempt('write small', () =>
    s.write([{ kind: 'events', persistenceId: 'a', expectedSeq: seq, events: [{ payload: 'small' }] }]),
  );
  await attempt('snapshot', () => s.saveSnapshot('a', { seq, payload: 'x'.repeat(Number(big)) }));
  await attempt('read again', () => s.highestSeq('a'));
  await s.close();
}
report('end', { ok: true });
