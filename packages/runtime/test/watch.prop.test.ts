import { type ChangedResult, type WatchReceiver, type WatchSender, watch } from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Lets every queued microtask (and promise reaction chain) run. Not a sleep: no clock involved. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// The model: one value, a version, and per receiver the version it last saw.
// ---------------------------------------------------------------------------------------------

interface ReceiverModel {
  open: boolean;
  seen: number;
  /** The id of this receiver's pending `changed()` call, if any. */
  pending: number | null;
}

interface WatchModel {
  value: number;
  version: number;
  /** Open flag of each sender handle, in creation order. */
  readonly senders: boolean[];
  readonly receivers: ReceiverModel[];
  /** Expected state of every `changed()` call so far, by call id. */
  readonly calls: Map<number, ChangedResult | 'pending'>;
  nextCall: number;
}

interface WatchReal {
  readonly senders: WatchSender<number>[];
  readonly receivers: WatchReceiver<number>[];
  /** Settled `changed()` calls, by call id. */
  readonly calls: Map<number, ChangedResult>;
  readonly controllers: Map<number, AbortController>;
}

type WatchCommand = fc.AsyncCommand<WatchModel, WatchReal>;

const isClosed = (m: Readonly<WatchModel>) => !m.senders.includes(true);

function settlePending(m: WatchModel, r: ReceiverModel, result: ChangedResult): void {
  if (r.pending === null) return;
  m.calls.set(r.pending, result);
  r.pending = null;
}

function modelPublish(m: WatchModel, value: number): void {
  m.value = value;
  m.version++;
  for (const r of m.receivers) {
    if (r.pending === null) continue;
    r.seen = m.version;
    settlePending(m, r, { ok: true });
  }
}

/** After each command: the promise reactions have run, and every observation matches the model. */
async function expectMatchesModel(m: Readonly<WatchModel>, real: WatchReal): Promise<void> {
  await settle();
  const closed = isClosed(m);
  const open = m.receivers.filter((r) => r.open).length;
  for (const tx of real.senders) {
    expect(tx.borrow()).toBe(m.value);
    expect(tx.isClosed).toBe(closed);
    expect(tx.receiverCount).toBe(open);
  }
  for (const [i, r] of m.receivers.entries()) {
    const rx = real.receivers[i]!;
    expect(rx.borrow(), `rx#${i} observes only the latest value`).toBe(m.value);
    expect(rx.hasChanged(), `rx#${i}.hasChanged() iff a send happened since it last marked seen`).toBe(
      r.open && m.version !== r.seen,
    );
  }
  for (const [id, expected] of m.calls) {
    if (expected === 'pending') expect(real.calls.has(id), `changed() call ${id} still pending`).toBe(false);
    else expect(real.calls.get(id), `changed() call ${id}`).toEqual(expected);
  }
}

class SendCommand implements WatchCommand {
  constructor(
    readonly pick: number,
    readonly value: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.senders.length;
    const result = real.senders[i]!.send(this.value);
    if (m.senders[i]) {
      modelPublish(m, this.value);
      expect(result).toEqual({ ok: true });
    } else {
      expect(result, 'a closed sender hands the value back').toEqual({
        ok: false,
        reason: 'closed',
        value: this.value,
      });
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `tx#${this.pick}.send(${this.value})`;
  }
}

class SendModifyCommand implements WatchCommand {
  constructor(
    readonly pick: number,
    readonly delta: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.senders.length;
    const seenByFn: number[] = [];
    const result = real.senders[i]!.sendModify((current) => {
      seenByFn.push(current);
      return current + this.delta;
    });
    if (m.senders[i]) {
      expect(seenByFn, 'sendModify computes from the current value').toEqual([m.value]);
      modelPublish(m, m.value + this.delta);
      expect(result).toEqual({ ok: true });
    } else {
      expect(seenByFn).toEqual([]);
      expect(result).toEqual({ ok: false, reason: 'closed', value: m.value });
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `tx#${this.pick}.sendModify(v => v + ${this.delta})`;
  }
}

class BorrowAndUpdateCommand implements WatchCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.receivers.length;
    expect(real.receivers[i]!.borrowAndUpdate()).toBe(m.value);
    m.receivers[i]!.seen = m.version;
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `rx#${this.pick}.borrowAndUpdate()`;
  }
}

class ChangedCommand implements WatchCommand {
  constructor(
    readonly pick: number,
    readonly abortable: boolean,
  ) {}
  /** One pending `changed()` per receiver (several at once: see the regression test below). */
  check(m: Readonly<WatchModel>): boolean {
    return m.receivers[this.pick % m.receivers.length]!.pending === null;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.receivers.length;
    const r = m.receivers[i]!;
    const id = m.nextCall++;
    const controller = this.abortable ? new AbortController() : undefined;
    if (controller !== undefined) real.controllers.set(id, controller);
    void real.receivers[i]!.changed({ signal: controller?.signal }).then((result) => {
      real.calls.set(id, result);
    });
    if (!r.open) m.calls.set(id, { ok: false, reason: 'closed' });
    else if (m.version !== r.seen) {
      r.seen = m.version;
      m.calls.set(id, { ok: true });
    } else if (isClosed(m)) m.calls.set(id, { ok: false, reason: 'closed' });
    else {
      m.calls.set(id, 'pending');
      r.pending = id;
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `rx#${this.pick}.changed(${this.abortable ? '{ signal }' : ''})`;
  }
}

class AbortChangedCommand implements WatchCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const r = m.receivers[this.pick % m.receivers.length]!;
    // Abort the receiver's pending call when it has a signal; aborting anything else is a no-op.
    const id = r.pending;
    const controller = id === null ? undefined : real.controllers.get(id);
    if (controller !== undefined) {
      controller.abort();
      settlePending(m, r, { ok: false, reason: 'aborted' });
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `abort rx~${this.pick}'s changed()`;
  }
}

class SubscribeCommand implements WatchCommand {
  /** `clone` false: `tx#pick.subscribe()`; true: `rx#pick.clone()`. */
  constructor(
    readonly pick: number,
    readonly clone: boolean,
  ) {}
  check(m: Readonly<WatchModel>): boolean {
    return m.receivers.length < 6;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    if (this.clone) {
      const i = this.pick % m.receivers.length;
      if (!m.receivers[i]!.open) {
        // Contract: cloning a closed receiver is misuse (TypeError), like cloning a closed sender.
        expect(() => real.receivers[i]!.clone()).toThrow(TypeError);
      } else {
        real.receivers.push(real.receivers[i]!.clone());
        m.receivers.push({ open: true, seen: m.receivers[i]!.seen, pending: null });
      }
    } else {
      real.receivers.push(real.senders[this.pick % real.senders.length]!.subscribe());
      m.receivers.push({ open: true, seen: m.version, pending: null });
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return this.clone ? `rx#${this.pick}.clone()` : `tx#${this.pick}.subscribe()`;
  }
}

class CloseReceiverCommand implements WatchCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.receivers.length;
    const r = m.receivers[i]!;
    r.open = false;
    settlePending(m, r, { ok: false, reason: 'closed' });
    real.receivers[i]!.close();
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `rx#${this.pick}.close()`;
  }
}

class CloneSenderCommand implements WatchCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.senders.length;
    if (m.senders[i]) {
      real.senders.push(real.senders[i]!.clone());
      m.senders.push(true);
    } else {
      expect(() => real.senders[i]!.clone()).toThrow(TypeError);
    }
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `tx#${this.pick}.clone()`;
  }
}

class CloseSenderCommand implements WatchCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WatchModel, real: WatchReal): Promise<void> {
    const i = this.pick % m.senders.length;
    m.senders[i] = false;
    if (isClosed(m)) for (const r of m.receivers) settlePending(m, r, { ok: false, reason: 'closed' });
    real.senders[i]!.close();
    await expectMatchesModel(m, real);
  }
  toString(): string {
    return `tx#${this.pick}.close()`;
  }
}

const watchCommands = [
  fc.oneof(
    { arbitrary: fc.tuple(fc.nat(), fc.integer()).map(([p, v]) => new SendCommand(p, v)), weight: 5 },
    {
      arbitrary: fc
        .tuple(fc.nat(), fc.integer({ min: -9, max: 9 }))
        .map(([p, d]) => new SendModifyCommand(p, d)),
      weight: 3,
    },
    { arbitrary: fc.nat().map((p) => new BorrowAndUpdateCommand(p)), weight: 3 },
    { arbitrary: fc.tuple(fc.nat(), fc.boolean()).map(([p, a]) => new ChangedCommand(p, a)), weight: 5 },
    { arbitrary: fc.nat().map((p) => new AbortChangedCommand(p)), weight: 2 },
    { arbitrary: fc.tuple(fc.nat(), fc.boolean()).map(([p, c]) => new SubscribeCommand(p, c)), weight: 2 },
    { arbitrary: fc.nat().map((p) => new CloseReceiverCommand(p)), weight: 1 },
    { arbitrary: fc.nat().map((p) => new CloneSenderCommand(p)), weight: 1 },
    { arbitrary: fc.nat().map((p) => new CloseSenderCommand(p)), weight: 1 },
  ),
];

describe('watch: model-based (send / sendModify / borrowAndUpdate / changed / subscribe / close)', () => {
  it('a receiver only ever observes the latest value, and hasChanged() is true iff a send happened since it last marked the value seen', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.commands(watchCommands, { maxCommands: 40 }),
        async (initial, cmds) => {
          const [tx, rx] = watch<number>(initial);
          const setup = () => ({
            model: {
              value: initial,
              version: 0,
              senders: [true],
              receivers: [{ open: true, seen: 0, pending: null }],
              calls: new Map(),
              nextCall: 0,
            } satisfies WatchModel,
            real: {
              senders: [tx],
              receivers: [rx],
              calls: new Map(),
              controllers: new Map(),
            } satisfies WatchReal,
          });
          await fc.asyncModelRun(setup, cmds);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Interleavings: receivers looping on changed() + borrowAndUpdate() while a sender sends.
// ---------------------------------------------------------------------------------------------

describe('watch: interleavings (fc.scheduler)', () => {
  it('receivers awaiting changed() see only the latest value, never the same one twice, and always the final one before closed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        async (s, count, receivers) => {
          const [tx, first] = watch<number>(0);
          const rxs = Array.from({ length: receivers }, (_, i) => (i === 0 ? first : tx.subscribe()));
          let latest = 0;
          let senderDone = false;
          const observed: { value: number; latest: number }[][] = rxs.map(() => []);
          const ends: (ChangedResult | undefined)[] = rxs.map(() => undefined);

          for (const [i, rx] of rxs.entries()) {
            void (async () => {
              for (;;) {
                await s.schedule(Promise.resolve(), `rx#${i}.changed()`);
                const r = await rx.changed();
                if (!r.ok) {
                  ends[i] = r;
                  return;
                }
                observed[i]!.push({ value: rx.borrowAndUpdate(), latest });
              }
            })();
          }
          void (async () => {
            for (let value = 1; value <= count; value++) {
              await s.schedule(Promise.resolve(), `tx.send(${value})`);
              latest = value;
              tx.send(value);
            }
            await s.schedule(Promise.resolve(), 'tx.close()');
            tx.close();
            senderDone = true;
          })();

          await s.waitIdle();

          expect(senderDone).toBe(true);
          for (const [i, seen] of observed.entries()) {
            expect(ends[i], `rx#${i} ends with closed`).toEqual({ ok: false, reason: 'closed' });
            for (const o of seen) expect(o.value, 'observes the latest value').toBe(o.latest);
            const values = seen.map((o) => o.value);
            expect(values, 'never the same value twice, never an older one').toEqual(
              [...new Set(values)].sort((a, b) => a - b),
            );
            expect(values.at(-1), 'the final value is always seen before closed').toBe(
              count > 0 ? count : undefined,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Regression (found by this suite, fixed): a receiver tracked only its most recent
// pending changed() (`state.waiter`), while every call is parked in the channel's waiter queue.
// `rx.close()` removes and resolves only that last one: earlier calls stay pending, and resolve
// { ok: true } on the next send — after the receiver was closed.
// Minimal counterexample: const [tx, rx] = watch(0); const a = rx.changed(); rx.changed();
// rx.close();  -> `a` is still pending; tx.send(1) -> `a` resolves { ok: true }.
// ---------------------------------------------------------------------------------------------

describe('watch: several changed() pending on one receiver', () => {
  it('closing a receiver resolves every pending changed() with closed, and none resolves ok afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), async (pendingCalls) => {
        const [tx, rx] = watch(0);
        const results: (ChangedResult | undefined)[] = Array.from({ length: pendingCalls }, () => undefined);
        for (let i = 0; i < pendingCalls; i++) {
          void rx.changed().then((r) => {
            results[i] = r;
          });
        }
        rx.close();
        tx.send(1);
        await settle();
        expect(results).toEqual(results.map(() => ({ ok: false, reason: 'closed' })));
      }),
      { numRuns: 20 },
    );
  });
});
