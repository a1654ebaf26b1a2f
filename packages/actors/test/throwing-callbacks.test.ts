// Every user callback of @troupe/actors, made to throw (and user-supplied refs whose methods
// throw, and garbage in the messages that carry refs). The rule under test: a throw is the
// failure of the one message it was called for — a `failed` dead letter carrying the error,
// counted — and the actor keeps its state (queues, windows, an open circuit) and goes on. The
// exception, a worker factory, fails that worker's start and its supervisor answers it.
import {
  type Batch,
  batcher,
  type CallResult,
  CircuitBreaker,
  type CircuitBreakerMsg,
  CircuitOpenError,
  type CircuitStateChanged,
  circuitBreaker,
  countWindow,
  router,
  Topic,
  type TopicAck,
  timeWindow,
  topic,
  type WindowAggregate,
} from '@troupe/actors';
import {
  type ActorRef,
  ActorSystem,
  type DeadLetter,
  type Message,
  receive,
  type SystemEvent,
} from '@troupe/runtime';
import { settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let system: ActorSystem;
let clock: VirtualClock;
let events: SystemEvent[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'throwing', clock });
  events = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const deadLetters = (reason?: DeadLetter['reason']) =>
  events.filter(
    (e): e is DeadLetter => e.type === 'DeadLetter' && (reason === undefined || e.reason === reason),
  );

const failures = () => events.filter((e) => e.type === 'ActorFailed');

class Boom extends Error {
  override readonly name = 'Boom';
}

/**
 * `ref` with one method replaced by one that throws (the first `times` calls; then the real
 * one): a user-supplied ref (a test double, a wrapper) that misbehaves.
 */
function throwingRef<M extends Message>(
  ref: ActorRef<M>,
  method: 'tell' | 'trySend' | 'send',
  error: Error,
  times = Number.POSITIVE_INFINITY,
): ActorRef<M> {
  let left = times;
  return new Proxy(ref, {
    get(target, key, receiver) {
      if (key === method && left > 0) {
        return () => {
          left--;
          throw error;
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A promise the test opens: async handlers wait on it, so mailboxes hold what is queued. */
class Gate {
  private release: () => void = () => {};
  readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  open(): void {
    this.release();
  }
}

const details = (ref: ActorRef<never>) =>
  system.tree().children.find((c) => c.path === ref.path)?.details as Record<string, unknown> | undefined;

type Job = { type: 'job'; n: number; key: unknown };

describe('router: consistentHash', () => {
  it('a throwing key function fails that message only: a failed dead letter; the pool keeps its queues', async () => {
    const gate = new Gate();
    const handled: number[] = [];
    const worker = () =>
      receive<null, Job>(null, async (s, m) => {
        await gate.opened;
        handled.push(m.n);
        return s;
      });
    const boom = new Boom('no key');
    const hostileKey = {
      toString() {
        throw boom;
      },
    };
    const ref = system.spawn(
      router<Job>({
        size: 2,
        worker,
        routing: {
          consistentHash: (j) => {
            if (j.n === 3) throw boom;
            return j.key as string;
          },
        },
      }),
      { name: 'router' },
    );
    for (let n = 0; n < 10; n++) ref.tell({ type: 'job', n, key: n === 6 ? hostileKey : `k${n}` });
    await settle(system);
    // The workers hold what was routed to them; nothing failed but the two messages.
    const failed = deadLetters('failed');
    expect(failed.map((d) => [(d.message as Job).n, d.recipient, d.error])).toEqual([
      [3, '/user/router', boom],
      [6, '/user/router', boom],
    ]);
    expect(deadLetters()).toEqual(failed);
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0, failed: 0 });
    expect(failures()).toEqual([]);
    gate.open();
    await settle(system);
    expect(handled.sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 7, 8, 9]);
    expect(details(ref as never)).toMatchObject({ routed: 8, keyErrors: 2 });
  });

  it('a worker factory that throws at a restart is a failed start: the pool retries and the queue is kept', async () => {
    const gate = new Gate();
    const handled: number[] = [];
    let starts = 0;
    const worker = () => {
      starts++;
      if (starts === 2) throw new Boom('factory'); // the first restart
      return receive<null, Job>(null, async (s, m) => {
        if (m.n === 0) throw new Boom('job 0');
        await gate.opened;
        handled.push(m.n);
        return s;
      });
    };
    const ref = system.spawn(router<Job>({ size: 1, worker, routing: 'roundRobin' }), { name: 'router' });
    for (let n = 0; n < 5; n++) ref.tell({ type: 'job', n, key: '' });
    await settle(system);
    gate.open();
    await settle(system);
    expect(handled).toEqual([1, 2, 3, 4]);
    expect(deadLetters().map((d) => [d.reason, (d.message as Job).n])).toEqual([['failed', 0]]);
    expect(
      failures().map((e) => (e.type === 'ActorFailed' ? [e.path, e.phase, (e.error as Error).message] : [])),
    ).toEqual([
      ['/user/router/pool/worker-1', 'running', 'job 0'],
      ['/user/router/pool/worker-1', 'start', 'factory'],
    ]);
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0 });
  });
});

const aggregates = (probe: TestProbe<WindowAggregate>) => probe.messages as readonly WindowAggregate[];

type Reading = { type: 'reading'; sensor: unknown; celsius: number };
const reading = (sensor: unknown, celsius: number): Reading => ({ type: 'reading', sensor, celsius });

describe('windows: key and value', () => {
  const boom = new Boom('callback');
  const key = (r: Reading) => {
    if (r.sensor === 'key-throws') throw boom;
    return r.sensor as string;
  };
  const value = (r: Reading) => {
    if (r.celsius === 666) throw boom;
    return r.celsius;
  };
  const readings = [
    reading('a', 1),
    reading('key-throws', 2),
    reading('a', 3),
    reading('b', 666),
    reading(42, 5), // a key that is not a string
    reading('b', 4),
  ];

  function expectFailedReadings() {
    const failed = deadLetters('failed');
    expect(failed.map((d) => [d.message, d.recipient])).toEqual([
      [readings[1], '/user/window'],
      [readings[3], '/user/window'],
      [readings[4], '/user/window'],
    ]);
    expect(failed[0]?.error).toBe(boom);
    expect(failed[1]?.error).toBe(boom);
    expect(failed[2]?.error).toBeInstanceOf(TypeError);
    expect(String(failed[2]?.error)).toMatch(/key must return a string; got number/);
    expect(failures()).toEqual([]);
  }

  it('timeWindow: a throw fails that event only; the open window keeps its aggregates and closes on time', async () => {
    const out = new TestProbe<WindowAggregate>(system, 'out');
    const ref = system.spawn(timeWindow<Reading>({ sizeMs: 100, key, value, target: out.ref }), {
      name: 'window',
    });
    for (const r of readings) ref.tell(r);
    await settle(system);
    expectFailedReadings();
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0 });
    clock.advance(100);
    await settle(system);
    expect(out.messages).toEqual([
      { type: 'WindowAggregate', key: 'a', count: 2, sum: 4, min: 1, max: 3, avg: 2, start: 0, end: 100 },
      { type: 'WindowAggregate', key: 'b', count: 1, sum: 4, min: 4, max: 4, avg: 4, start: 0, end: 100 },
    ]);
    expect(details(ref as never)).toMatchObject({ keyErrors: 2, valueErrors: 1, emitErrors: 0 });
  });

  it('countWindow: a throw fails that event only; the partly filled window is kept', async () => {
    const out = new TestProbe<WindowAggregate>(system, 'out');
    const ref = system.spawn(countWindow<Reading>({ size: 2, key, value, target: out.ref }), {
      name: 'window',
    });
    for (const r of readings) ref.tell(r);
    await settle(system);
    expectFailedReadings();
    expect(aggregates(out).map((m) => [m.key, m.count, m.sum])).toEqual([['a', 2, 4]]);
    ref.tell(reading('b', 6));
    await settle(system);
    expect(aggregates(out).map((m) => [m.key, m.count, m.sum])).toEqual([
      ['a', 2, 4],
      ['b', 2, 10],
    ]);
    expect(details(ref as never)).toMatchObject({ keyErrors: 2, valueErrors: 1 });
  });

  it('a target whose trySend throws: that aggregate is a failed dead letter; the other keys and windows go out', async () => {
    const out = new TestProbe<WindowAggregate>(system, 'out');
    const boomTarget = new Boom('target');
    const target = throwingRef(out.ref, 'trySend', boomTarget, 1);
    const ref = system.spawn(timeWindow<Reading>({ sizeMs: 100, key, value, target }), { name: 'window' });
    ref.tell(reading('a', 1));
    ref.tell(reading('b', 2));
    await settle(system);
    clock.advance(100);
    await settle(system);
    ref.tell(reading('a', 7));
    await settle(system);
    clock.advance(100);
    await settle(system);
    expect(
      deadLetters().map((d) => [d.reason, (d.message as WindowAggregate).key, d.recipient, d.error]),
    ).toEqual([['failed', 'a', '/user/out', boomTarget]]);
    expect(aggregates(out).map((m) => [m.key, m.sum, m.start])).toEqual([
      ['b', 2, 0],
      ['a', 7, 100],
    ]);
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0 });
    expect(details(ref as never)).toMatchObject({ emitErrors: 1 });
  });
});

describe('batcher: target', () => {
  it('a target that throws: that batch is a failed dead letter with its items; batching goes on', async () => {
    const out = new TestProbe<Batch<number>>(system, 'out');
    const boom = new Boom('target');
    const target = throwingRef(out.ref, 'trySend', boom, 1);
    const ref = system.spawn(batcher<number>({ maxSize: 2, maxAgeMs: 100, target }), { name: 'batcher' });
    for (let i = 1; i <= 5; i++) ref.tell({ type: 'Add', item: i });
    await settle(system);
    expect(deadLetters().map((d) => [d.reason, d.message, d.recipient, d.error])).toEqual([
      ['failed', { type: 'Batch', items: [1, 2] }, '/user/out', boom],
    ]);
    expect(out.messages).toEqual([{ type: 'Batch', items: [3, 4] }]);
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0 });
    expect(details(ref as never)).toMatchObject({ pending: 1, batches: 2, emitErrors: 1 });
    clock.advance(100);
    await settle(system);
    expect(out.messages.at(-1)).toEqual({ type: 'Batch', items: [5] });
  });

  it('the flush on stop to a target whose tell throws is a failed dead letter, not lost', async () => {
    const out = new TestProbe<Batch<number>>(system, 'out');
    const boom = new Boom('target');
    const target = throwingRef(out.ref, 'tell', boom);
    const ref = system.spawn(batcher<number>({ maxSize: 10, maxAgeMs: 100, target }), { name: 'batcher' });
    ref.tell({ type: 'Add', item: 1 });
    await settle(system);
    await system.stop(ref);
    expect(deadLetters().map((d) => [d.reason, d.message, d.error])).toEqual([
      ['failed', { type: 'Batch', items: [1] }, boom],
    ]);
  });
});

type BreakerRef = ActorRef<CircuitBreakerMsg<number, string>>;

describe('circuitBreaker: sinks and the refs in its messages', () => {
  const failing = () => Promise.reject(new Boom('down'));

  async function openBreaker(eventsRef?: ActorRef<CircuitStateChanged>): Promise<BreakerRef> {
    const ref: BreakerRef = system.spawn(
      circuitBreaker<number, string>({
        call: failing,
        failureThreshold: 1,
        resetTimeoutMs: 1000,
        ...(eventsRef === undefined ? {} : { events: eventsRef }),
      }),
      { name: 'breaker' },
    );
    await CircuitBreaker.call(ref, 1).catch(() => {});
    await settle(system);
    return ref;
  }

  async function expectStillOpen(ref: BreakerRef) {
    const error = await CircuitBreaker.call(ref, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(system.inspect(ref)).toMatchObject({ status: 'running', restarts: 0, failed: 0 });
    expect(failures()).toEqual([]);
  }

  it('an events sink that throws: the notice is a failed dead letter; the circuit stays open', async () => {
    const probe = new TestProbe<CircuitStateChanged>(system, 'events');
    const boom = new Boom('sink');
    const ref = await openBreaker(throwingRef(probe.ref, 'tell', boom, 1));
    expect(deadLetters().map((d) => [d.reason, d.message, d.recipient, d.error])).toEqual([
      [
        'failed',
        { type: 'CircuitStateChanged', breaker: '/user/breaker', from: 'closed', to: 'open' },
        '/user/events',
        boom,
      ],
    ]);
    await expectStillOpen(ref);
    clock.advance(1000); // the next notice goes through
    await settle(system);
    expect(probe.messages).toEqual([
      { type: 'CircuitStateChanged', breaker: '/user/breaker', from: 'open', to: 'halfOpen' },
    ]);
  });

  it("a caller's replyTo that throws: the reply is a failed dead letter; the circuit keeps its state", async () => {
    const ref = await openBreaker();
    const probe = new TestProbe<CallResult<string>>(system, 'caller');
    const boom = new Boom('replyTo');
    ref.tell({ type: 'call', request: 3, replyTo: throwingRef(probe.ref, 'tell', boom) });
    await settle(system);
    const [dead] = deadLetters('failed');
    expect(dead).toMatchObject({ recipient: '/user/caller', error: boom });
    expect(dead?.message).toMatchObject({ type: 'callResult', ok: false });
    await expectStillOpen(ref);
  });

  it('a call without a usable replyTo, or a forged outcome, is an unhandled dead letter; the circuit stays open', async () => {
    const ref = await openBreaker();
    const raw = ref as unknown as ActorRef<Message>;
    const garbage = [
      { type: 'call', request: 3 },
      { type: 'call', request: 3, replyTo: { path: 7 } },
      { type: '$circuitBreaker.settled', epoch: 0, replyTo: ref, result: null },
      { type: '$circuitBreaker.settled', epoch: 0, replyTo: null, result: { type: 'callResult', ok: true } },
    ];
    for (const m of garbage) raw.tell(m as Message);
    await settle(system);
    expect(deadLetters().map((d) => [d.reason, d.message])).toEqual(garbage.map((m) => ['unhandled', m]));
    await expectStillOpen(ref);
  });
});

type Ev = { type: 'ev'; n: number };

describe('topic: filters and replyTo refs', () => {
  it('a filter that throws: that delivery is a failed dead letter for the subscriber, counted; the others get the event', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    const picky = new TestProbe<Ev>(system, 'picky');
    const other = new TestProbe<Ev>(system, 'other');
    const boom = new Boom('filter');
    await Topic.subscribe(bus, picky.ref, {
      filter: (e) => {
        if (e.n % 2 === 1) throw boom;
        return true;
      },
    });
    await Topic.subscribe(bus, other.ref);
    for (let n = 0; n < 4; n++) Topic.publish(bus, { type: 'ev', n });
    await settle(system);
    expect(deadLetters().map((d) => [d.reason, d.message, d.recipient, d.error])).toEqual([
      ['failed', { type: 'ev', n: 1 }, '/user/picky', boom],
      ['failed', { type: 'ev', n: 3 }, '/user/picky', boom],
    ]);
    expect(picky.messages).toEqual([
      { type: 'ev', n: 0 },
      { type: 'ev', n: 2 },
    ]);
    expect(other.messages).toHaveLength(4);
    expect((await Topic.stats(bus)).subscriptions[0]).toMatchObject({
      matched: 4,
      delivered: 2,
      missed: 2,
      filterErrors: 2,
    });
    expect(system.inspect(bus)).toMatchObject({ status: 'running', restarts: 0, failed: 0 });
  });

  it('a replyTo that throws: the ack is a failed dead letter; the subscription is applied and the topic goes on', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    const sub = new TestProbe<Ev>(system, 'sub');
    const caller = new TestProbe<TopicAck>(system, 'caller');
    const boom = new Boom('replyTo');
    (bus as unknown as ActorRef<Message>).tell({
      type: '$topic.subscribe',
      subscriber: sub.ref,
      options: {},
      replyTo: throwingRef(caller.ref, 'tell', boom),
    } as Message);
    await settle(system);
    expect(deadLetters().map((d) => [d.reason, d.message, d.recipient, d.error])).toEqual([
      ['failed', { type: 'TopicAck' }, '/user/caller', boom],
    ]);
    Topic.publish(bus, { type: 'ev', n: 1 });
    await settle(system);
    expect(sub.messages).toEqual([{ type: 'ev', n: 1 }]);
    expect(system.inspect(bus)).toMatchObject({ status: 'running', restarts: 0, failed: 0 });
  });

  it('an event that cannot be frozen (a hostile proxy) is a failed dead letter of the topic, published to no one', async () => {
    const bus = system.spawn(topic<Ev>(), { name: 'bus' });
    const sub = new TestProbe<Ev>(system, 'sub');
    await Topic.subscribe(bus, sub.ref);
    const boom = new Boom('freeze');
    const hostile = new Proxy<Ev>(
      { type: 'ev', n: 1 },
      {
        preventExtensions() {
          throw boom;
        },
      },
    );
    Topic.publish(bus, hostile);
    Topic.publish(bus, { type: 'ev', n: 2 });
    await settle(system);
    expect(deadLetters().map((d) => [d.reason, d.recipient, d.error])).toEqual([
      ['failed', '/user/bus', boom],
    ]);
    expect(sub.messages).toEqual([{ type: 'ev', n: 2 }]);
    expect((await Topic.stats(bus)).published).toBe(1);
    expect(system.inspect(bus)).toMatchObject({ status: 'running', restarts: 0, failed: 0 });
  });
});
