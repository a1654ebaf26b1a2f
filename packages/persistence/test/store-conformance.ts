/**
 * The one suite every store must pass. Each backend's test file calls `storeConformance` with
 * a factory that opens a fresh, empty store (and, for durable backends, one that reopens the
 * same database), so the contract in `src/store.ts` is checked the same way everywhere.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreClosedError } from '../src/errors.js';
import type { PersistenceStore, Write } from '../src/store.js';

export interface ConformanceTarget {
  /** Opens a fresh, empty store. */
  readonly open: () => Promise<PersistenceStore>;
  /** Opens the same database again (after `close`), for durable stores. */
  readonly reopen?: (closed: PersistenceStore) => Promise<PersistenceStore>;
}

const events = (pid: string, expectedSeq: number, ...payloads: string[]): Write => ({
  kind: 'events',
  persistenceId: pid,
  expectedSeq,
  events: payloads.map((payload) => ({ payload })),
});

export function storeConformance(name: string, target: ConformanceTarget): void {
  describe(`${name}: store conformance`, () => {
    const opened: PersistenceStore[] = [];
    const open = async (): Promise<PersistenceStore> => {
      const store = await target.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it('appends events with sequence numbers from 1 and reads them back in order, with tags', async () => {
      const store = await open();
      expect(await store.highestSeq('a')).toBe(0);
      const result = await store.write([
        {
          kind: 'events',
          persistenceId: 'a',
          expectedSeq: 0,
          events: [{ payload: '{"n":1}', tags: ['x', 'y'] }, { payload: '{"n":2}' }],
        },
      ]);
      expect(result).toEqual([{ ok: true }]);
      expect(await store.write([events('a', 2, '{"n":3}')])).toEqual([{ ok: true }]);
      const read = await store.readEvents('a', 1, 100);
      expect(read.map((e) => [e.seq, e.payload])).toEqual([
        [1, '{"n":1}'],
        [2, '{"n":2}'],
        [3, '{"n":3}'],
      ]);
      expect(read[0]?.tags).toEqual(['x', 'y']);
      expect(read[1]?.tags).toEqual([]);
      expect(read.every((e) => e.persistenceId === 'a' && e.timestamp > 0)).toBe(true);
      expect(await store.highestSeq('a')).toBe(3);
    });

    it('refuses a write whose expected sequence is stale, and changes nothing', async () => {
      const store = await open();
      await store.write([events('a', 0, '1', '2')]);
      expect(await store.write([events('a', 1, 'late')])).toEqual([{ ok: false, actual: 2 }]);
      expect(await store.write([events('a', 5, 'ahead')])).toEqual([{ ok: false, actual: 2 }]);
      expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['1', '2']);
    });

    it('decides each write of a batch on its own, in batch order: of two writers the first wins', async () => {
      const store = await open();
      const results = await store.write([
        events('a', 0, 'first'),
        events('a', 0, 'second'),
        events('b', 0, 'other'),
        events('a', 1, 'follow-up'),
      ]);
      expect(results).toEqual([{ ok: true }, { ok: false, actual: 1 }, { ok: true }, { ok: true }]);
      expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['first', 'follow-up']);
      expect((await store.readEvents('b', 1, 10)).map((e) => e.payload)).toEqual(['other']);
    });

    it('pages events from a sequence number with a limit', async () => {
      const store = await open();
      await store.write([events('a', 0, ...Array.from({ length: 25 }, (_, i) => `e${i + 1}`))]);
      expect((await store.readEvents('a', 11, 5)).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
      expect((await store.readEvents('a', 24, 100)).map((e) => e.seq)).toEqual([24, 25]);
      expect(await store.readEvents('a', 26, 100)).toEqual([]);
      expect(await store.readEvents('nobody', 1, 100)).toEqual([]);
    });

    it('deletes events up to a sequence number but never reuses their numbers', async () => {
      const store = await open();
      await store.write([events('a', 0, '1', '2', '3', '4')]);
      await store.deleteEvents('a', 2);
      expect((await store.readEvents('a', 1, 10)).map((e) => e.seq)).toEqual([3, 4]);
      expect(await store.highestSeq('a')).toBe(4);
      await store.deleteEvents('a', 4);
      expect(await store.readEvents('a', 1, 10)).toEqual([]);
      expect(await store.highestSeq('a')).toBe(4);
      expect(await store.write([events('a', 0, 'reuse?')])).toEqual([{ ok: false, actual: 4 }]);
      expect(await store.write([events('a', 4, '5')])).toEqual([{ ok: true }]);
      expect((await store.readEvents('a', 1, 10)).map((e) => e.seq)).toEqual([5]);
    });

    it('keeps the latest snapshot; an older one never replaces a newer one', async () => {
      const store = await open();
      expect(await store.loadSnapshot('a')).toBeUndefined();
      await store.saveSnapshot('a', { seq: 10, payload: 'ten' });
      await store.saveSnapshot('a', { seq: 20, payload: 'twenty' });
      await store.saveSnapshot('a', { seq: 15, payload: 'fifteen' });
      expect(await store.loadSnapshot('a')).toEqual({ seq: 20, payload: 'twenty' });
      expect(await store.loadSnapshot('b')).toBeUndefined();
    });

    it('stores durable state by revision, refusing a stale revision', async () => {
      const store = await open();
      expect(await store.loadState('s')).toBeUndefined();
      expect(
        await store.write([{ kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'v1' }]),
      ).toEqual([{ ok: true }]);
      expect(await store.loadState('s')).toEqual({ revision: 1, payload: 'v1' });
      const results = await store.write([
        { kind: 'state', persistenceId: 's', expectedRevision: 1, payload: 'v2' },
        { kind: 'state', persistenceId: 's', expectedRevision: 1, payload: 'v2-loser' },
      ]);
      expect(results).toEqual([{ ok: true }, { ok: false, actual: 2 }]);
      expect(await store.loadState('s')).toEqual({ revision: 2, payload: 'v2' });
    });

    it('reads the global journal in offset order, resumable, filtered by prefix (taken literally) and tag', async () => {
      const store = await open();
      await store.write([
        { kind: 'events', persistenceId: 'acct-1', expectedSeq: 0, events: [{ payload: 'a1', tags: ['t'] }] },
        events('acct_%', 0, 'weird'),
        events('order-1', 0, 'o1'),
      ]);
      await store.write([
        { kind: 'events', persistenceId: 'acct-1', expectedSeq: 1, events: [{ payload: 'a2' }] },
        {
          kind: 'events',
          persistenceId: 'acct-2',
          expectedSeq: 0,
          events: [{ payload: 'b1', tags: ['t', 'u'] }],
        },
      ]);
      const all = await store.readJournal({ afterOffset: 0, limit: 100 });
      expect(all.map((e) => e.payload)).toEqual(['a1', 'weird', 'o1', 'a2', 'b1']);
      const offsets = all.map((e) => e.offset);
      expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);
      expect(new Set(offsets).size).toBe(offsets.length);
      const after = await store.readJournal({ afterOffset: offsets[1] as number, limit: 2 });
      expect(after.map((e) => e.payload)).toEqual(['o1', 'a2']);
      const prefixed = await store.readJournal({ afterOffset: 0, limit: 100, persistenceIdPrefix: 'acct-' });
      expect(prefixed.map((e) => e.payload)).toEqual(['a1', 'a2', 'b1']);
      const literal = await store.readJournal({ afterOffset: 0, limit: 100, persistenceIdPrefix: 'acct_' });
      expect(literal.map((e) => e.payload)).toEqual(['weird']);
      const tagged = await store.readJournal({ afterOffset: 0, limit: 100, tag: 't' });
      expect(tagged.map((e) => e.payload)).toEqual(['a1', 'b1']);
      expect(tagged[1]?.tags).toEqual(['t', 'u']);
    });

    it('keeps projection checkpoints', async () => {
      const store = await open();
      expect(await store.loadCheckpoint('p')).toBe(0);
      await store.saveCheckpoint('p', 7);
      await store.saveCheckpoint('p', 9);
      expect(await store.loadCheckpoint('p')).toBe(9);
      expect(await store.loadCheckpoint('q')).toBe(0);
    });

    it('tells append listeners after a commit; a throwing listener breaks nothing', async () => {
      const store = await open();
      const seen: number[] = [];
      const off = store.onAppend(() => seen.push(1));
      store.onAppend(() => {
        throw new Error('listener bug');
      });
      expect(await store.write([events('a', 0, '1')])).toEqual([{ ok: true }]);
      await store.write([{ kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'x' }]);
      expect(seen).toEqual([1]);
      off();
      await store.write([events('a', 1, '2')]);
      expect(seen).toEqual([1]);
    });

    it('stores any string payload as is: empty, unicode, quotes, one megabyte', async () => {
      const store = await open();
      const payloads = ['', 'héllo ✓ 🚀', `it's "quoted" \\ back\nslash`, 'x'.repeat(1 << 20)];
      await store.write([events('a', 0, ...payloads)]);
      expect((await store.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(payloads);
    });

    it('accepts an empty batch and a write of no events', async () => {
      const store = await open();
      expect(await store.write([])).toEqual([]);
      expect(await store.write([events('a', 0)])).toEqual([{ ok: true }]);
      expect(await store.highestSeq('a')).toBe(0);
    });

    it('rejects every call after close with StoreClosedError; close is idempotent', async () => {
      const store = await target.open();
      await store.close();
      await store.close();
      await expect(store.write([events('a', 0, '1')])).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.readEvents('a', 1, 1)).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.readJournal({ afterOffset: 0, limit: 1 })).rejects.toBeInstanceOf(StoreClosedError);
    });

    it('keeps sequences gap-free and the journal ordered under any mix of fresh and stale writes (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(
              fc.record({
                pid: fc.constantFrom('p', 'q', 'r'),
                n: fc.integer({ min: 0, max: 3 }),
                skew: fc.constantFrom(0, 0, 0, -1, 1),
              }),
              {
                minLength: 1,
                maxLength: 6,
              },
            ),
            { minLength: 1, maxLength: 8 },
          ),
          async (batches) => {
            const store = await open();
            const model = new Map<string, number>();
            for (const batch of batches) {
              const planned = new Map(model);
              const writes: Write[] = batch.map(({ pid, n, skew }) => ({
                kind: 'events',
                persistenceId: pid,
                expectedSeq: (model.get(pid) ?? 0) + skew,
                events: Array.from({ length: n }, (_, i) => ({ payload: `${pid}${i}` })),
              }));
              const expected = writes.map((w) => {
                const current = planned.get(w.persistenceId) ?? 0;
                if (w.kind !== 'events' || w.expectedSeq !== current) return { ok: false, actual: current };
                planned.set(w.persistenceId, current + w.events.length);
                return { ok: true };
              });
              expect(await store.write(writes)).toEqual(expected);
              for (const [pid, seq] of planned) model.set(pid, seq);
            }
            for (const [pid, seq] of model) {
              expect(await store.highestSeq(pid)).toBe(seq);
              const read = await store.readEvents(pid, 1, 1000);
              expect(read.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
            }
            const journal = await store.readJournal({ afterOffset: 0, limit: 1000 });
            const total = [...model.values()].reduce((a, b) => a + b, 0);
            expect(journal).toHaveLength(total);
            for (let i = 1; i < journal.length; i++) {
              expect((journal[i] as { offset: number }).offset).toBeGreaterThan(
                (journal[i - 1] as { offset: number }).offset,
              );
            }
            await store.close();
          },
        ),
        { numRuns: 25 },
      );
    });

    if (target.reopen !== undefined) {
      const reopen = target.reopen;
      it('keeps everything across close and reopen', async () => {
        const store = await target.open();
        await store.write([
          events('a', 0, '1', '2'),
          { kind: 'state', persistenceId: 's', expectedRevision: 0, payload: 'v' },
        ]);
        await store.saveSnapshot('a', { seq: 2, payload: 'snap' });
        await store.saveCheckpoint('p', 2);
        await store.deleteEvents('a', 1);
        await store.close();
        const again = await reopen(store);
        opened.push(again);
        expect((await again.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['2']);
        expect(await again.highestSeq('a')).toBe(2);
        expect(await again.loadSnapshot('a')).toEqual({ seq: 2, payload: 'snap' });
        expect(await again.loadState('s')).toEqual({ revision: 1, payload: 'v' });
        expect(await again.loadCheckpoint('p')).toBe(2);
      });
    }
  });
}
