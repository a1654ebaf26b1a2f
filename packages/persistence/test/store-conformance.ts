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

    it('keeps several snapshots per id; a load returns the newest; saving at a sequence number replaces it', async () => {
      const store = await open();
      expect(await store.loadSnapshot('a')).toBeUndefined();
      await store.saveSnapshot('a', { seq: 10, payload: 'ten', timestamp: 1000 });
      await store.saveSnapshot('a', { seq: 20, payload: 'twenty', timestamp: 2000 });
      await store.saveSnapshot('a', { seq: 15, payload: 'fifteen', timestamp: 3000 });
      await store.saveSnapshot('b', { seq: 99, payload: 'other id', timestamp: 1 });
      expect(await store.loadSnapshot('a')).toEqual({ seq: 20, timestamp: 2000, payload: 'twenty' });
      expect(await store.loadSnapshot('a', { maxSequenceNr: 19 })).toEqual({
        seq: 15,
        timestamp: 3000,
        payload: 'fifteen',
      });
      await store.saveSnapshot('a', { seq: 20, payload: 'twenty again', timestamp: 2500 });
      expect(await store.loadSnapshot('a')).toEqual({ seq: 20, timestamp: 2500, payload: 'twenty again' });
      expect(await store.loadSnapshot('c')).toBeUndefined();
    });

    it('stamps a snapshot saved without a timestamp with the time of saving', async () => {
      const store = await open();
      const before = Date.now();
      await store.saveSnapshot('a', { seq: 1, payload: 'x' });
      const saved = await store.loadSnapshot('a');
      expect(saved?.timestamp).toBeGreaterThanOrEqual(before);
      expect(saved?.timestamp).toBeLessThanOrEqual(Date.now());
    });

    it('selects snapshots by sequence number and timestamp, every bound inclusive', async () => {
      const store = await open();
      for (const [seq, timestamp] of [
        [5, 100],
        [10, 200],
        [15, 300],
        [20, 400],
      ] as const) {
        await store.saveSnapshot('a', { seq, timestamp, payload: `s${seq}` });
      }
      const seqOf = async (criteria: Parameters<PersistenceStore['loadSnapshot']>[1]) =>
        (await store.loadSnapshot('a', criteria))?.seq;
      expect(await seqOf({})).toBe(20);
      expect(await seqOf({ maxSequenceNr: 15 })).toBe(15);
      expect(await seqOf({ maxSequenceNr: 14 })).toBe(10);
      expect(await seqOf({ maxTimestamp: 200 })).toBe(10);
      expect(await seqOf({ maxTimestamp: 199 })).toBe(5);
      expect(await seqOf({ maxSequenceNr: 20, maxTimestamp: 250 })).toBe(10);
      expect(await seqOf({ minSequenceNr: 21 })).toBeUndefined();
      expect(await seqOf({ minTimestamp: 300, maxSequenceNr: 17 })).toBe(15);
      expect(await seqOf({ minSequenceNr: 6, maxSequenceNr: 9 })).toBeUndefined();
      expect(await seqOf({ maxSequenceNr: 4 })).toBeUndefined();
      // Infinite bounds are no bounds; fractional ones are rounded inward.
      expect(await seqOf({ maxSequenceNr: Number.POSITIVE_INFINITY, minTimestamp: -Infinity })).toBe(20);
      expect(await seqOf({ maxSequenceNr: Number.NEGATIVE_INFINITY })).toBeUndefined();
      expect(await seqOf({ maxSequenceNr: 10.9 })).toBe(10);
      expect(await seqOf({ minSequenceNr: 19.1 })).toBe(20);
      expect(await seqOf({ minSequenceNr: 20.5 })).toBeUndefined();
      expect(await seqOf({ maxSequenceNr: Number.MAX_VALUE })).toBe(20);
    });

    it('deletes the snapshots a criteria selects, and only those, saying how many', async () => {
      const store = await open();
      for (const seq of [5, 10, 15, 20])
        await store.saveSnapshot('a', { seq, timestamp: seq * 10, payload: `s${seq}` });
      await store.saveSnapshot('b', { seq: 5, timestamp: 50, payload: 'b5' });
      expect(await store.deleteSnapshots('a', { maxSequenceNr: 10 })).toBe(2);
      expect((await store.loadSnapshot('a', { maxSequenceNr: 14 }))?.seq).toBeUndefined();
      expect(await store.deleteSnapshots('a', { minTimestamp: 200 })).toBe(1);
      expect(await store.loadSnapshot('a')).toEqual({ seq: 15, timestamp: 150, payload: 's15' });
      expect(await store.deleteSnapshots('a', { maxSequenceNr: -1 })).toBe(0);
      expect(await store.deleteSnapshots('nobody', {})).toBe(0);
      expect(await store.loadSnapshot('b')).toEqual({ seq: 5, timestamp: 50, payload: 'b5' });
      expect(await store.deleteSnapshots('a', {})).toBe(1);
      expect(await store.loadSnapshot('a')).toBeUndefined();
    });

    it('loads and deletes snapshots as a model does, for any saves and criteria (property)', async () => {
      const bound = fc.integer({ min: -2, max: 12 });
      const criteria = fc.record(
        { maxSequenceNr: bound, minSequenceNr: bound, maxTimestamp: bound, minTimestamp: bound },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({ seq: fc.integer({ min: 0, max: 10 }), timestamp: fc.integer({ min: 0, max: 10 }) }),
            {
              maxLength: 12,
            },
          ),
          criteria,
          criteria,
          async (saves, load, remove) => {
            const store = await open();
            const model = new Map<number, { seq: number; timestamp: number; payload: string }>();
            for (const [i, { seq, timestamp }] of saves.entries()) {
              await store.saveSnapshot('p', { seq, timestamp, payload: `#${i}` });
              model.set(seq, { seq, timestamp, payload: `#${i}` });
            }
            const selected = (c: typeof load, s: { seq: number; timestamp: number }) =>
              (c.maxSequenceNr === undefined || s.seq <= c.maxSequenceNr) &&
              (c.minSequenceNr === undefined || s.seq >= c.minSequenceNr) &&
              (c.maxTimestamp === undefined || s.timestamp <= c.maxTimestamp) &&
              (c.minTimestamp === undefined || s.timestamp >= c.minTimestamp);
            const newest = (c: typeof load) =>
              [...model.values()].filter((s) => selected(c, s)).sort((x, y) => y.seq - x.seq)[0];
            expect(await store.loadSnapshot('p', load)).toEqual(newest(load));
            const doomed = [...model.values()].filter((s) => selected(remove, s));
            expect(await store.deleteSnapshots('p', remove)).toBe(doomed.length);
            for (const s of doomed) model.delete(s.seq);
            expect(await store.loadSnapshot('p', load)).toEqual(newest(load));
            expect(await store.loadSnapshot('p')).toEqual(newest({}));
            await store.close();
          },
        ),
        { numRuns: 30 },
      );
    });

    it('refuses garbage snapshot arguments with a TypeError or RangeError, storing nothing', async () => {
      const store = await open();
      await store.saveSnapshot('a', { seq: 3, timestamp: 30, payload: 'kept' });
      const bad = <T>(value: unknown) => value as T;
      await expect(store.saveSnapshot('a', { seq: -1, payload: 'x' })).rejects.toBeInstanceOf(RangeError);
      await expect(store.saveSnapshot('a', { seq: 1.5, payload: 'x' })).rejects.toBeInstanceOf(RangeError);
      await expect(store.saveSnapshot('a', { seq: bad('7'), payload: 'x' })).rejects.toBeInstanceOf(
        RangeError,
      );
      await expect(
        store.saveSnapshot('a', { seq: 4, payload: 'x', timestamp: Number.NaN }),
      ).rejects.toBeInstanceOf(RangeError);
      await expect(store.saveSnapshot('a', { seq: 4, payload: bad(42) })).rejects.toBeInstanceOf(TypeError);
      await expect(store.loadSnapshot('a', { maxSequenceNr: bad('10') })).rejects.toBeInstanceOf(TypeError);
      await expect(store.loadSnapshot('a', { maxTimestamp: Number.NaN })).rejects.toBeInstanceOf(TypeError);
      await expect(store.loadSnapshot('a', bad(42))).rejects.toBeInstanceOf(TypeError);
      await expect(store.deleteSnapshots('a', { minSequenceNr: bad(null) })).rejects.toBeInstanceOf(
        TypeError,
      );
      await expect(store.deleteSnapshots('a', bad(null))).rejects.toBeInstanceOf(TypeError);
      expect(await store.loadSnapshot('a')).toEqual({ seq: 3, timestamp: 30, payload: 'kept' });
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

    it('deletes durable state as a tombstone at the next revision; the revision continues', async () => {
      const store = await open();
      const state = (expectedRevision: number, payload: string): Write => ({
        kind: 'state',
        persistenceId: 's',
        expectedRevision,
        payload,
      });
      const remove = (expectedRevision: number): Write => ({
        kind: 'deleteState',
        persistenceId: 's',
        expectedRevision,
      });
      expect(await store.write([state(0, 'v1'), state(1, 'v2')])).toEqual([{ ok: true }, { ok: true }]);
      expect(await store.write([remove(1)])).toEqual([{ ok: false, actual: 2 }]); // stale: refused
      expect(await store.loadState('s')).toEqual({ revision: 2, payload: 'v2' });
      expect(await store.write([remove(2)])).toEqual([{ ok: true }]);
      expect(await store.loadState('s')).toEqual({ revision: 3, payload: '', deleted: true });
      // A writer that still expects the revision before the delete, or 0, cannot write over it.
      expect(await store.write([state(2, 'resurrected')])).toEqual([{ ok: false, actual: 3 }]);
      expect(await store.write([state(0, 'fresh?')])).toEqual([{ ok: false, actual: 3 }]);
      expect(await store.write([state(3, 'v4'), remove(4), remove(5)])).toEqual([
        { ok: true },
        { ok: true },
        { ok: true },
      ]);
      expect(await store.loadState('s')).toEqual({ revision: 6, payload: '', deleted: true });
      expect(await store.write([state(6, 'v7')])).toEqual([{ ok: true }]);
      expect(await store.loadState('s')).toEqual({ revision: 7, payload: 'v7' });
      // Deleting what was never stored is a tombstone at revision 1.
      expect(
        await store.write([{ kind: 'deleteState', persistenceId: 'never', expectedRevision: 0 }]),
      ).toEqual([{ ok: true }]);
      expect(await store.loadState('never')).toEqual({ revision: 1, payload: '', deleted: true });
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
      await expect(store.loadSnapshot('a')).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.deleteSnapshots('a', {})).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.saveSnapshot('a', { seq: 1, payload: 'x' })).rejects.toBeInstanceOf(
        StoreClosedError,
      );
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
          { kind: 'state', persistenceId: 'gone', expectedRevision: 0, payload: 'v' },
          { kind: 'deleteState', persistenceId: 'gone', expectedRevision: 1 },
        ]);
        await store.saveSnapshot('a', { seq: 1, payload: 'snap1', timestamp: 11 });
        await store.saveSnapshot('a', { seq: 2, payload: 'snap', timestamp: 22 });
        await store.saveCheckpoint('p', 2);
        await store.deleteEvents('a', 1);
        await store.close();
        const again = await reopen(store);
        opened.push(again);
        expect((await again.readEvents('a', 1, 10)).map((e) => e.payload)).toEqual(['2']);
        expect(await again.highestSeq('a')).toBe(2);
        expect(await again.loadSnapshot('a')).toEqual({ seq: 2, timestamp: 22, payload: 'snap' });
        expect(await again.loadSnapshot('a', { maxTimestamp: 21 })).toEqual({
          seq: 1,
          timestamp: 11,
          payload: 'snap1',
        });
        expect(await again.loadState('s')).toEqual({ revision: 1, payload: 'v' });
        expect(await again.loadState('gone')).toEqual({ revision: 2, payload: '', deleted: true });
        expect(await again.loadCheckpoint('p')).toBe(2);
      });
    }
  });
}
