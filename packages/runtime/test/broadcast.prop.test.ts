import {
  type BroadcastReceiver,
  type BroadcastSender,
  type BroadcastTryRecvResult,
  broadcast,
} from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What one receiver observed, in order. `tail` is the number of values sent when the lag was reported. */
type Observed = { readonly value: number } | { readonly skipped: number; readonly tail: number };

/**
 * Checks one receiver's observations against the contract in broadcast.ts, independently of any
 * model: values arrive in send order; each lag skips exactly the values overwritten, and the next
 * value is the oldest one still held (the one sent `capacity` sends before the newest).
 * Returns the position (sequence number) the receiver reached.
 */
function replay(
  observed: readonly Observed[],
  sent: readonly number[],
  from: number,
  capacity: number,
): number {
  let position = from;
  for (const o of observed) {
    if ('value' in o) {
      expect(o.value, `value at sequence ${position}`).toBe(sent[position]);
      position++;
    } else {
      expect(o.skipped).toBeGreaterThan(0);
      position += o.skipped;
      expect(position, 'after a lag the next value is the oldest still held').toBe(o.tail - capacity);
    }
  }
  return position;
}

// ---------------------------------------------------------------------------------------------
// Model-based: sends, per-receiver tryRecv, subscribe / resubscribe, unsubscribe, sender close.
// ---------------------------------------------------------------------------------------------

interface ReceiverModel {
  open: boolean;
  /** Sequence number of the next value this receiver reads. */
  next: number;
  skipped: number;
  /** Sequence number of the first value sent after it subscribed. */
  readonly from: number;
  /** Whether it was ever unsubscribed (accounting then only holds up to that point). */
  unsubscribed: boolean;
  readonly observed: Observed[];
}

interface BroadcastModel {
  readonly capacity: number;
  /** Values kept by the channel, by sequence number (sends that returned 0 are not kept). */
  readonly sent: number[];
  nextValue: number;
  closed: boolean;
  readonly receivers: ReceiverModel[];
}

interface BroadcastReal {
  readonly tx: BroadcastSender<number>;
  readonly receivers: BroadcastReceiver<number>[];
}

type BroadcastCommand = fc.Command<BroadcastModel, BroadcastReal>;

const openCount = (m: Readonly<BroadcastModel>) => m.receivers.filter((r) => r.open).length;

function newReceiver(m: Readonly<BroadcastModel>): ReceiverModel {
  const tail = m.sent.length;
  return { open: !m.closed, next: tail, skipped: 0, from: tail, unsubscribed: false, observed: [] };
}

function modelTryRecv(m: Readonly<BroadcastModel>, r: ReceiverModel): BroadcastTryRecvResult<number> {
  if (!r.open) return { ok: false, reason: 'closed' };
  const tail = m.sent.length;
  if (r.next < tail) {
    const oldest = tail - m.capacity;
    if (r.next < oldest) {
      const skipped = oldest - r.next;
      r.next = oldest;
      r.skipped += skipped;
      return { ok: false, reason: 'lagged', skipped };
    }
    return { ok: true, value: m.sent[r.next++]! };
  }
  return m.closed ? { ok: false, reason: 'closed' } : { ok: false, reason: 'empty' };
}

function expectMatchesModel(m: Readonly<BroadcastModel>, real: BroadcastReal): void {
  expect(real.tx.receiverCount).toBe(openCount(m));
  expect(real.tx.isClosed).toBe(m.closed);
  for (const [i, r] of m.receivers.entries()) {
    const rx = real.receivers[i]!;
    expect(rx.length).toBe(r.open ? m.sent.length - r.next : 0);
    expect(rx.skipped).toBe(r.skipped);
  }
}

function tryRecvBoth(m: BroadcastModel, real: BroadcastReal, i: number): BroadcastTryRecvResult<number> {
  const r = m.receivers[i]!;
  const expected = modelTryRecv(m, r);
  const actual = real.receivers[i]!.tryRecv();
  expect(actual).toEqual(expected);
  if (actual.ok) r.observed.push({ value: actual.value });
  else if (actual.reason === 'lagged') r.observed.push({ skipped: actual.skipped, tail: m.sent.length });
  return actual;
}

class SendCommand implements BroadcastCommand {
  check(): boolean {
    return true;
  }
  run(m: BroadcastModel, real: BroadcastReal): void {
    const value = m.nextValue++;
    const expected = m.closed ? 0 : openCount(m);
    if (expected > 0) m.sent.push(value);
    expect(real.tx.send(value), 'send returns the number of open receivers').toBe(expected);
    expectMatchesModel(m, real);
  }
  toString(): string {
    return 'tx.send()';
  }
}

class TryRecvCommand implements BroadcastCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: BroadcastModel, real: BroadcastReal): void {
    tryRecvBoth(m, real, this.pick % m.receivers.length);
    expectMatchesModel(m, real);
  }
  toString(): string {
    return `rx#${this.pick}.tryRecv()`;
  }
}

class SubscribeCommand implements BroadcastCommand {
  /** `via` null: `tx.subscribe()`; else `rx#via.resubscribe()`. */
  constructor(readonly via: number | null) {}
  check(m: Readonly<BroadcastModel>): boolean {
    return m.receivers.length < 6;
  }
  run(m: BroadcastModel, real: BroadcastReal): void {
    const rx =
      this.via === null
        ? real.tx.subscribe()
        : real.receivers[this.via % real.receivers.length]!.resubscribe();
    real.receivers.push(rx);
    m.receivers.push(newReceiver(m));
    expectMatchesModel(m, real);
  }
  toString(): string {
    return this.via === null ? 'tx.subscribe()' : `rx#${this.via}.resubscribe()`;
  }
}

class UnsubscribeCommand implements BroadcastCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: BroadcastModel, real: BroadcastReal): void {
    const i = this.pick % m.receivers.length;
    const r = m.receivers[i]!;
    r.open = false;
    r.unsubscribed = true;
    real.receivers[i]!.close();
    expect(real.receivers[i]!.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expectMatchesModel(m, real);
  }
  toString(): string {
    return `rx#${this.pick}.close()`;
  }
}

class CloseSenderCommand implements BroadcastCommand {
  check(): boolean {
    return true;
  }
  run(m: BroadcastModel, real: BroadcastReal): void {
    m.closed = true;
    real.tx.close();
    expectMatchesModel(m, real);
  }
  toString(): string {
    return 'tx.close()';
  }
}

const broadcastCommands = [
  fc.oneof(
    { arbitrary: fc.constant(new SendCommand()), weight: 8 },
    { arbitrary: fc.nat().map((p) => new TryRecvCommand(p)), weight: 8 },
    { arbitrary: fc.option(fc.nat(), { nil: null }).map((via) => new SubscribeCommand(via)), weight: 2 },
    { arbitrary: fc.nat().map((p) => new UnsubscribeCommand(p)), weight: 1 },
    { arbitrary: fc.constant(new CloseSenderCommand()), weight: 1 },
  ),
];

describe('broadcast: model-based (send / tryRecv / subscribe / unsubscribe / close)', () => {
  it('for every receiver, received + skipped = sent since it subscribed; received values are the sent ones in order minus exactly the overwritten ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.commands(broadcastCommands, { maxCommands: 80 }),
        (capacity, cmds) => {
          const [tx, rx] = broadcast<number>(capacity);
          const model: BroadcastModel = { capacity, sent: [], nextValue: 0, closed: false, receivers: [] };
          model.receivers.push(newReceiver(model));
          const real: BroadcastReal = { tx, receivers: [rx] };
          fc.modelRun(() => ({ model, real }), cmds);

          // Drain every receiver until it is caught up (lagging on the way is fine).
          for (const i of model.receivers.keys()) {
            for (;;) {
              const r = tryRecvBoth(model, real, i);
              if (!r.ok && r.reason !== 'lagged') break;
            }
          }
          expectMatchesModel(model, real);

          for (const r of model.receivers) {
            const reached = replay(r.observed, model.sent, r.from, capacity);
            if (r.unsubscribed) continue;
            const received = r.observed.filter((o) => 'value' in o).length;
            expect(reached).toBe(model.sent.length);
            expect(received + r.skipped, 'received + skipped = sent since subscribed').toBe(
              model.sent.length - r.from,
            );
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Interleavings: one sender and several receivers awaiting recv(), ordered by fc.scheduler.
// ---------------------------------------------------------------------------------------------

interface ReceiverPlan {
  /** Subscribed before anything runs, or later at a point the scheduler picks. */
  readonly late: boolean;
  /** Unsubscribes at a point the scheduler picks. */
  readonly unsubscribes: boolean;
}

describe('broadcast: interleavings (fc.scheduler)', () => {
  it('with receivers awaiting recv() while a sender sends and closes, each receiver gets every value sent since it subscribed, in order, except the ones reported skipped', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.record({ late: fc.boolean(), unsubscribes: fc.boolean() }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (s, capacity, count, plans: ReceiverPlan[]) => {
          const [tx, first] = broadcast<number>(capacity);
          const sent: number[] = [];
          let open = 0;
          let senderDone = false;
          const counts: { returned: number; open: number }[] = [];
          interface Track {
            from: number;
            unsubscribed: boolean;
            end: string | undefined;
            readonly observed: Observed[];
          }
          const tracks: Track[] = [];

          const consume = async (rx: BroadcastReceiver<number>, t: Track) => {
            for (;;) {
              await s.schedule(Promise.resolve(), 'recv');
              const pending = rx.recv();
              const tailAtCall = sent.length; // a lag is decided synchronously inside recv()
              const r = await pending;
              if (r.ok) t.observed.push({ value: r.value });
              else if (r.reason === 'lagged') t.observed.push({ skipped: r.skipped, tail: tailAtCall });
              else {
                t.end = r.reason;
                return;
              }
            }
          };
          const start = (rx: BroadcastReceiver<number>, plan: ReceiverPlan) => {
            const t: Track = { from: sent.length, unsubscribed: false, end: undefined, observed: [] };
            tracks.push(t);
            if (!tx.isClosed) open++;
            void consume(rx, t);
            if (plan.unsubscribes) {
              void s.schedule(Promise.resolve(), 'rx.close()').then(() => {
                if (!t.unsubscribed && !tx.isClosed) open--;
                t.unsubscribed = true;
                rx.close();
              });
            }
          };

          let firstUsed = false;
          for (const plan of plans) {
            if (!plan.late) {
              start(firstUsed ? tx.subscribe() : first, plan);
              firstUsed = true;
            } else {
              void s.schedule(Promise.resolve(), 'tx.subscribe()').then(() => start(tx.subscribe(), plan));
            }
          }
          if (!firstUsed) first.close();

          void (async () => {
            for (let value = 0; value < count; value++) {
              await s.schedule(Promise.resolve(), `tx.send(${value})`);
              const n = tx.send(value);
              counts.push({ returned: n, open });
              if (n > 0) sent.push(value);
            }
            await s.schedule(Promise.resolve(), 'tx.close()');
            tx.close();
            open = 0;
            senderDone = true;
          })();

          await s.waitIdle();

          expect(senderDone).toBe(true);
          expect(
            counts.map((c) => c.returned),
            'send returns the number of open receivers',
          ).toEqual(counts.map((c) => c.open));
          expect(tracks).toHaveLength(plans.length);
          for (const t of tracks) {
            expect(t.end, 'every receive loop ends with closed').toBe('closed');
            const reached = replay(t.observed, sent, t.from, capacity);
            if (t.unsubscribed) continue;
            const received = t.observed.filter((o) => 'value' in o).length;
            const skipped = t.observed.reduce((n, o) => n + ('skipped' in o ? o.skipped : 0), 0);
            expect(reached).toBe(sent.length);
            expect(received + skipped, 'received + skipped = sent since subscribed').toBe(
              sent.length - t.from,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Regression (found by this suite, fixed): two recv() calls pending on the same
// receiver are both parked in the channel's waiter queue, and `send` hands the value to each of
// them, releasing the slot once per waiter. The slot's reader count (`rem`) drops to 0 while
// another receiver has not read it, the slot is cleared, and that receiver gets `undefined`.
// Minimal counterexample: capacity 1; a = first receiver, b = tx.subscribe();
// a.recv(); a.recv(); tx.send(0)  ->  both of a's recv resolve { ok: true, value: 0 },
// then b.tryRecv() -> { ok: true, value: undefined } (expected value 0).
// ---------------------------------------------------------------------------------------------

describe('broadcast: concurrent recv on one receiver', () => {
  it('two recv() pending on one receiver never corrupt what another receiver reads, nor deliver a value twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (capacity, count) => {
          const [tx, a] = broadcast<number>(capacity);
          const b = tx.subscribe();
          const first = a.recv();
          const second = a.recv();
          const values = Array.from({ length: Math.min(count, capacity) }, (_, i) => i);
          for (const v of values) tx.send(v);
          tx.close();
          const aGot = [await first, await second].flatMap((r) => (r.ok ? [r.value] : []));
          const bGot = values.map(() => b.tryRecv());
          expect({ aGot, bGot }).toEqual({
            aGot: values.slice(0, 2),
            bGot: values.map((value) => ({ ok: true, value })),
          });
        },
      ),
      { numRuns: 50 },
    );
  });
});
