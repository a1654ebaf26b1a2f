import {
  mpsc,
  type OverflowPolicy,
  type Receiver,
  type Sender,
  type SendResult,
  type TryRecvResult,
  type TrySendResult,
} from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const POLICIES: readonly OverflowPolicy[] = ['block', 'dropNewest', 'dropOldest', 'latest'];
const policyArb = fc.constantFrom(...POLICIES);

/** Lets every queued microtask (and promise reaction chain) run. Not a sleep: no clock involved. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// The array model: what the contract in mpsc.ts / overflow.ts says the channel holds.
// ---------------------------------------------------------------------------------------------

interface MpscModel {
  readonly overflow: OverflowPolicy;
  /** Values the queue may hold: 1 under 'latest', else capacity. */
  readonly limit: number;
  /** Buffered values, oldest first. */
  readonly queue: number[];
  /** Every value the overflow policy discarded, in order. */
  readonly dropped: number[];
  /** Open flag of each sender handle, in creation order (index 0 is the one `mpsc` returned). */
  readonly senders: boolean[];
  receiverClosed: boolean;
}

interface MpscReal {
  readonly senders: Sender<number>[];
  readonly rx: Receiver<number>;
  /** Every value passed to `onDrop`, in call order. */
  readonly onDrop: readonly number[];
}

type MpscCommand = fc.Command<MpscModel, MpscReal>;

function isClosed(m: Readonly<MpscModel>): boolean {
  return m.receiverClosed || !m.senders.includes(true);
}

function modelTrySend(m: MpscModel, value: number): TrySendResult<number> {
  if (isClosed(m)) return { ok: false, reason: 'closed', value };
  if (m.queue.length < m.limit) {
    m.queue.push(value);
    return { ok: true };
  }
  switch (m.overflow) {
    case 'block':
      return { ok: false, reason: 'full', value };
    case 'dropNewest':
      m.dropped.push(value);
      return { ok: false, reason: 'dropped', value };
    case 'dropOldest':
    case 'latest':
      m.dropped.push(m.queue.shift() as number);
      m.queue.push(value);
      return { ok: true };
  }
}

function modelTryRecv(m: MpscModel): TryRecvResult<number> {
  const value = m.queue.shift();
  if (value !== undefined) return { ok: true, value };
  return isClosed(m) ? { ok: false, reason: 'closed' } : { ok: false, reason: 'empty' };
}

/** The sender a command acts on: an open one when there is any, as a well-behaved producer would. */
function pickOpenSender(m: Readonly<MpscModel>, pick: number): number {
  const open = m.senders.flatMap((isOpen, i) => (isOpen ? [i] : []));
  return open.length > 0 ? open[pick % open.length]! : pick % m.senders.length;
}

/** Observable state every handle must agree on after each command. */
function expectMatchesModel(m: Readonly<MpscModel>, r: MpscReal): void {
  const closed = isClosed(m);
  for (const handle of [r.rx, ...r.senders]) {
    expect(handle.length).toBe(m.queue.length);
    expect(handle.dropped).toBe(m.dropped.length);
    expect(handle.isClosed).toBe(closed);
  }
  expect(r.rx.length).toBeLessThanOrEqual(m.overflow === 'latest' ? 1 : r.rx.capacity);
  expect(r.onDrop).toEqual(m.dropped);
}

class TrySendCommand implements MpscCommand {
  constructor(
    readonly pick: number,
    readonly value: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: MpscModel, r: MpscReal): void {
    const i = pickOpenSender(m, this.pick);
    const expected = modelTrySend(m, this.value);
    expect(r.senders[i]!.trySend(this.value)).toEqual(expected);
    expectMatchesModel(m, r);
  }
  toString(): string {
    return `tx~${this.pick}.trySend(${this.value})`;
  }
}

class TryRecvCommand implements MpscCommand {
  check(): boolean {
    return true;
  }
  run(m: MpscModel, r: MpscReal): void {
    const expected = modelTryRecv(m);
    expect(r.rx.tryRecv()).toEqual(expected);
    expectMatchesModel(m, r);
  }
  toString(): string {
    return 'rx.tryRecv()';
  }
}

class CloneSenderCommand implements MpscCommand {
  constructor(readonly pick: number) {}
  check(m: Readonly<MpscModel>): boolean {
    return m.senders.includes(true);
  }
  run(m: MpscModel, r: MpscReal): void {
    const i = pickOpenSender(m, this.pick);
    r.senders.push(r.senders[i]!.clone());
    m.senders.push(true);
    expectMatchesModel(m, r);
  }
  toString(): string {
    return `tx~${this.pick}.clone()`;
  }
}

class CloneClosedSenderCommand implements MpscCommand {
  constructor(readonly pick: number) {}
  check(m: Readonly<MpscModel>): boolean {
    return m.senders.includes(false);
  }
  run(m: MpscModel, r: MpscReal): void {
    const closed = m.senders.flatMap((isOpen, i) => (isOpen ? [] : [i]));
    const i = closed[this.pick % closed.length]!;
    expect(() => r.senders[i]!.clone()).toThrow(TypeError);
    expectMatchesModel(m, r);
  }
  toString(): string {
    return `closedTx~${this.pick}.clone() throws`;
  }
}

class CloseSenderCommand implements MpscCommand {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: MpscModel, r: MpscReal): void {
    // Any sender, open or not: closing is idempotent.
    const i = this.pick % m.senders.length;
    m.senders[i] = false;
    r.senders[i]!.close();
    expectMatchesModel(m, r);
  }
  toString(): string {
    return `tx#${this.pick}.close()`;
  }
}

class CloseReceiverCommand implements MpscCommand {
  check(): boolean {
    return true;
  }
  run(m: MpscModel, r: MpscReal): void {
    m.receiverClosed = true;
    r.rx.close();
    expectMatchesModel(m, r);
  }
  toString(): string {
    return 'rx.close()';
  }
}

const mpscCommands = [
  fc.oneof(
    { arbitrary: fc.tuple(fc.nat(), fc.nat(999)).map(([p, v]) => new TrySendCommand(p, v)), weight: 8 },
    { arbitrary: fc.constant(new TryRecvCommand()), weight: 5 },
    { arbitrary: fc.nat().map((p) => new CloneSenderCommand(p)), weight: 1 },
    { arbitrary: fc.nat().map((p) => new CloneClosedSenderCommand(p)), weight: 1 },
    { arbitrary: fc.nat().map((p) => new CloseSenderCommand(p)), weight: 1 },
    { arbitrary: fc.constant(new CloseReceiverCommand()), weight: 1 },
  ),
];

describe('mpsc: model-based (trySend / tryRecv / clone / close against an array model)', () => {
  it.each(POLICIES)(
    "overflow '%s': every result, length, dropped count and onDrop value matches the array model",
    (overflow) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 4 }),
          fc.commands(mpscCommands, { maxCommands: 60 }),
          (capacity, cmds) => {
            const onDrop: number[] = [];
            const [tx, rx] = mpsc<number>(capacity, {
              overflow,
              onDrop: (value) => {
                onDrop.push(value);
              },
            });
            const setup = () => ({
              model: {
                overflow,
                limit: overflow === 'latest' ? 1 : capacity,
                queue: [],
                dropped: [],
                senders: [true],
                receiverClosed: false,
              } satisfies MpscModel,
              real: { senders: [tx], rx, onDrop } satisfies MpscReal,
            });
            fc.modelRun(setup, cmds);
          },
        ),
        { numRuns: 1000 },
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Accounting: where did every value go?
// ---------------------------------------------------------------------------------------------

type Op =
  | { readonly kind: 'trySend' }
  | { readonly kind: 'send'; readonly abortable: boolean }
  | { readonly kind: 'abort'; readonly which: number }
  | { readonly kind: 'tryRecv' }
  | { readonly kind: 'recv' }
  | { readonly kind: 'closeSender' }
  | { readonly kind: 'closeReceiver' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'trySend' } as const), weight: 4 },
  { arbitrary: fc.boolean().map((abortable) => ({ kind: 'send', abortable }) as const), weight: 4 },
  { arbitrary: fc.nat().map((which) => ({ kind: 'abort', which }) as const), weight: 2 },
  { arbitrary: fc.constant({ kind: 'tryRecv' } as const), weight: 4 },
  { arbitrary: fc.constant({ kind: 'recv' } as const), weight: 2 },
  { arbitrary: fc.constant({ kind: 'closeSender' } as const), weight: 1 },
  { arbitrary: fc.constant({ kind: 'closeReceiver' } as const), weight: 1 },
);

describe('mpsc: accounting', () => {
  it('every value sent is received, handed back or dropped — never lost, never duplicated', async () => {
    await fc.assert(
      fc.asyncProperty(
        policyArb,
        fc.integer({ min: 1, max: 4 }),
        fc.array(opArb, { maxLength: 40 }),
        async (overflow, capacity, ops) => {
          const onDrop: number[] = [];
          const [tx, rx] = mpsc<number>(capacity, {
            overflow,
            onDrop: (value) => {
              onDrop.push(value);
            },
          });
          const outcomes = new Map<number, SendResult<number> | TrySendResult<number>>();
          const received: number[] = [];
          const controllers: AbortController[] = [];
          let pending = 0;
          let sent = 0;
          const record = (value: number, result: SendResult<number> | TrySendResult<number>): void => {
            expect(outcomes.has(value), `send of ${value} settled twice`).toBe(false);
            outcomes.set(value, result);
          };

          for (const op of ops) {
            switch (op.kind) {
              case 'trySend': {
                const value = sent++;
                record(value, tx.trySend(value));
                break;
              }
              case 'send': {
                const value = sent++;
                const controller = op.abortable ? new AbortController() : undefined;
                if (controller !== undefined) controllers.push(controller);
                pending++;
                void tx.send(value, { signal: controller?.signal }).then((r) => {
                  pending--;
                  record(value, r);
                });
                break;
              }
              case 'abort':
                if (controllers.length > 0) controllers[op.which % controllers.length]!.abort();
                break;
              case 'tryRecv': {
                const r = rx.tryRecv();
                if (r.ok) received.push(r.value);
                break;
              }
              case 'recv':
                pending++;
                void rx.recv().then((r) => {
                  pending--;
                  if (r.ok) received.push(r.value);
                });
                break;
              case 'closeSender':
                tx.close();
                break;
              case 'closeReceiver':
                rx.close();
                break;
              default:
                op satisfies never;
            }
          }
          // Close, then drain: buffered values stay receivable after close.
          rx.close();
          for (let r = rx.tryRecv(); r.ok; r = rx.tryRecv()) received.push(r.value);
          expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
          await settle();
          expect(pending, 'every send and recv settles once the channel is closed').toBe(0);

          // Where each value ended up. Exactly one place each.
          const places = Array.from({ length: sent }, () => [] as string[]);
          for (const v of received) places[v]!.push('received');
          for (const v of onDrop) places[v]!.push('dropped');
          for (const [v, r] of outcomes) {
            if (r.ok) continue;
            expect(r.value).toBe(v);
            if (r.reason !== 'dropped') places[v]!.push(`handed back (${r.reason})`);
          }
          const misplaced = places.flatMap((where, v) => (where.length === 1 ? [] : [{ value: v, where }]));
          expect(misplaced, 'values lost (no place) or duplicated (several places)').toEqual([]);

          // The result of each send agrees with where the value went.
          for (const [v, r] of outcomes) {
            const where = places[v]![0];
            if (r.ok) expect(['received', 'dropped']).toContain(where);
            else if (r.reason === 'dropped') expect(where).toBe('dropped');
          }
          expect(rx.dropped).toBe(onDrop.length);
          if (overflow === 'block') expect(onDrop).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Interleavings: fc.scheduler decides when each producer, the consumer, aborts and close run.
// ---------------------------------------------------------------------------------------------

/** Each producer sends `items.length` values; `true` items carry an AbortSignal aborted at a scheduled point. */
const producersArb = fc.array(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), {
  minLength: 1,
  maxLength: 3,
});
const itemValue = (producer: number, item: number) => producer * 100 + item;
const producerOf = (value: number) => Math.floor(value / 100);

describe('mpsc: interleavings (fc.scheduler)', () => {
  it('concurrent producers, aborts and a close: per-producer order kept, every send settles, a value is received iff its send was ok and it was not evicted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        policyArb,
        fc.integer({ min: 1, max: 3 }),
        producersArb,
        fc.boolean(),
        async (s, overflow, capacity, producers, receiverCloses) => {
          const onDrop: number[] = [];
          const [first, rx] = mpsc<number>(capacity, {
            overflow,
            onDrop: (value) => {
              onDrop.push(value);
            },
          });
          const senders = producers.map((_, p) => (p === 0 ? first : first.clone()));

          const controllers = new Map<number, AbortController>();
          for (const [p, items] of producers.entries()) {
            for (const [i, abortable] of items.entries()) {
              if (!abortable) continue;
              const controller = new AbortController();
              controllers.set(itemValue(p, i), controller);
              void s.schedule(Promise.resolve(), `abort ${itemValue(p, i)}`).then(() => controller.abort());
            }
          }

          const issued: number[] = [];
          const abortedAtIssue = new Set<number>();
          const closedAtIssue = new Set<number>();
          const results = new Map<number, SendResult<number>>();
          const received: number[] = [];
          let receiverClosed = false;
          let producersDone = 0;
          let consumerEnd: Awaited<ReturnType<Receiver<number>['recv']>> | undefined;

          const producing = producers.map(async (items, p) => {
            const tx = senders[p]!;
            for (let i = 0; i < items.length; i++) {
              const value = itemValue(p, i);
              await s.schedule(Promise.resolve(), `tx${p}.send(${value})`);
              const signal = controllers.get(value)?.signal;
              issued.push(value);
              if (signal?.aborted === true) abortedAtIssue.add(value);
              else if (receiverClosed) closedAtIssue.add(value);
              results.set(value, await tx.send(value, { signal }));
            }
            tx.close();
            producersDone++;
          });
          const consuming = (async () => {
            for (;;) {
              await s.schedule(Promise.resolve(), 'rx.recv()');
              const r = await rx.recv();
              if (!r.ok) {
                consumerEnd = r;
                return;
              }
              received.push(r.value);
            }
          })();
          if (receiverCloses) {
            void s.schedule(Promise.resolve(), 'rx.close()').then(() => {
              receiverClosed = true;
              rx.close();
            });
          }

          await s.waitIdle();

          // No hang: everybody finished once the scheduler ran out of work.
          expect(producersDone, 'every producer finished').toBe(producers.length);
          expect(consumerEnd, 'the consumer saw the channel close').toEqual({ ok: false, reason: 'closed' });
          await Promise.all([...producing, consuming]);
          expect(results.size, 'every send settled').toBe(issued.length);

          expect(new Set(received).size, 'no value received twice').toBe(received.length);
          for (const p of producers.keys()) {
            const mine = received.filter((v) => producerOf(v) === p);
            expect(mine, `producer ${p}'s values arrive in its send order`).toEqual(
              [...mine].sort((a, b) => a - b),
            );
          }

          const evicted = new Set(onDrop);
          expect(evicted.size, 'no value dropped twice').toBe(onDrop.length);
          expect(rx.dropped).toBe(onDrop.length);
          if (overflow === 'block') expect(onDrop).toEqual([]);
          const receivedSet = new Set(received);
          for (const v of issued) {
            const r = results.get(v)!;
            if (abortedAtIssue.has(v)) expect(r).toEqual({ ok: false, reason: 'aborted', value: v });
            else if (closedAtIssue.has(v)) expect(r).toEqual({ ok: false, reason: 'closed', value: v });
            if (r.ok) continue;
            expect(r.value).toBe(v);
            expect(receivedSet.has(v), `${r.reason} value ${v} was never received`).toBe(false);
            if (r.reason === 'aborted') expect(controllers.has(v)).toBe(true);
            if (r.reason === 'closed') expect(receiverCloses).toBe(true);
            expect(evicted.has(v)).toBe(r.reason === 'dropped');
          }
          // Sends are accepted in the order they are issued (waiting senders FIFO), and everything
          // accepted and not evicted by the policy is received — including what was buffered at close.
          const expected = issued.filter((v) => results.get(v)?.ok === true && !evicted.has(v));
          expect(received).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("with capacity 1 under 'block', waiting senders are served in the order they called send, before any later trySend", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom('send', 'trySend'), { minLength: 1, maxLength: 8 }),
        async (s, ops) => {
          const [first, rx] = mpsc<number>(1);
          const senders = ops.map((_, i) => (i === 0 ? first : first.clone()));
          /** Values in the order the channel should accept them: send calls, and trySends that returned ok. */
          const accepted: number[] = [];
          const results = new Map<number, SendResult<number> | TrySendResult<number>>();
          const received: number[] = [];
          let consumerDone = false;

          for (const [i, op] of ops.entries()) {
            const tx = senders[i]!;
            void s.schedule(Promise.resolve(), `tx${i}.${op}(${i})`).then(async () => {
              if (op === 'send') {
                accepted.push(i);
                results.set(i, await tx.send(i));
              } else {
                const r = tx.trySend(i);
                if (r.ok) accepted.push(i);
                results.set(i, r);
              }
              tx.close();
            });
          }
          void (async () => {
            for (;;) {
              await s.schedule(Promise.resolve(), 'rx.recv()');
              const r = await rx.recv();
              if (!r.ok) break;
              received.push(r.value);
            }
            consumerDone = true;
          })();

          await s.waitIdle();

          expect(consumerDone).toBe(true);
          expect(results.size).toBe(ops.length);
          for (const [i, op] of ops.entries()) {
            const r = results.get(i);
            if (op === 'send') expect(r).toEqual({ ok: true });
            else expect([{ ok: true }, { ok: false, reason: 'full', value: i }]).toContainEqual(r);
          }
          expect(received).toEqual(accepted);
        },
      ),
      { numRuns: 500 },
    );
  });
});
