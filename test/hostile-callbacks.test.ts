/**
 * Hostile callbacks: every kind of user-supplied callback throws at random points of a busy,
 * supervised tree — child factories, handlers (sync and async), machine actions and guards,
 * lifecycle hooks, the logger, the clock, the id generator, event-stream subscribers, topic
 * filters and `ctx.unhandled()` followed by a throw. fast-check picks the seed and the failure
 * rates; the program is a random mix of tells, sends, asks, stops, restarts and clock moves.
 *
 * After every program:
 * - the dispatcher is alive: a canary actor in a separate subtree still answers an ask;
 * - nothing reached `uncaughtException` / `unhandledRejection`;
 * - the auditor's accounting closes for every actor that ever existed (processed + failed +
 *   unhandled + evicted + cancelled + dead-lettered + queued + in flight = received);
 * - shutdown completes (on virtual time) and leaves nothing queued or in flight.
 */
import { topic } from '@troupe/actors';
import {
  type ActorRef,
  ActorSystem,
  type Clock,
  fromMachine,
  type Logger,
  type Message,
  receive,
  Supervisor,
  type SupervisorMessage,
  supervisor,
} from '@troupe/runtime';
import { Auditor, logSink, settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { prng } from './support/prng.js';
import { size } from './support/soak.js';

// Escapes to uncaughtException / unhandledRejection fail the test through test/setup/audit.ts.

/** Where the program throws, as probabilities. */
interface Rates {
  readonly factory: number;
  readonly handler: number;
  readonly hook: number;
  readonly logger: number;
  readonly clock: number;
  readonly ids: number;
  readonly listener: number;
  readonly filter: number;
}

/** How many hostile throws the programs made, by where: the suite must actually be hostile. */
const thrown = new Map<string, number>();

class Hostile extends Error {
  override readonly name = 'Hostile';
  constructor(where: string) {
    super(where);
    thrown.set(where, (thrown.get(where) ?? 0) + 1);
  }
}

function hostileLogger(random: () => number, rate: number): Logger {
  const base = logSink('trace').logger;
  const wrap = (target: Logger): Logger =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        if (key === 'child')
          return (...args: unknown[]) => wrap((value as (...a: unknown[]) => Logger).apply(t, args));
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (random() < rate) throw new Hostile(`logger.${String(key)}`);
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  return wrap(base);
}

function hostileClock(inner: VirtualClock, random: () => number, rate: number): Clock & { armed: boolean } {
  return {
    armed: true,
    now: () => inner.now(),
    setTimeout(callback, ms) {
      if (this.armed && random() < rate) throw new Hostile('clock.setTimeout');
      return inner.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => inner.clearTimeout(handle),
  };
}

type Work =
  | { type: 'work'; n: number }
  | { type: 'async'; n: number }
  | { type: 'pause' }
  | { type: 'timer' }
  | { type: 'ask'; replyTo: ActorRef<{ type: 'done' }> };

function worker(random: () => number, rates: Rates): () => ReturnType<typeof receive<number, Work>> {
  return () => {
    if (random() < rates.factory) throw new Hostile('factory');
    return receive<number, Work>(
      0,
      async (n, m, ctx) => {
        const roll = random();
        if (roll < rates.handler / 3) {
          ctx.unhandled();
          throw new Hostile('unhandled then throw');
        }
        if (roll < rates.handler) throw new Hostile('handler');
        switch (m.type) {
          case 'async':
            await Promise.resolve();
            if (random() < rates.handler) throw new Hostile('async handler');
            return n + 1;
          case 'pause':
            ctx.pause(1 + Math.floor(random() * 5));
            return n;
          case 'timer':
            ctx.timers.startSingle('t', { type: 'work', n: -1 }, 1 + Math.floor(random() * 10));
            return n;
          case 'ask':
            ctx.reply(m.replyTo, { type: 'done' });
            return n;
          default:
            if (random() < 0.05) ctx.unhandled();
            return n + 1;
        }
      },
      {
        onRestart: () => {
          if (random() < rates.hook) throw new Hostile('onRestart');
        },
        onStop: () => {
          if (random() < rates.hook) throw new Hostile('onStop');
        },
      },
    );
  };
}

function machineChild(random: () => number, rates: Rates) {
  const machine = setup({
    types: {
      context: {} as { n: number },
      events: {} as { type: 'work'; n: number } | { type: 'async'; n: number },
    },
    actions: {
      maybeThrow: () => {
        if (random() < rates.handler) throw new Hostile('action');
      },
    },
    guards: {
      flaky: () => {
        if (random() < rates.handler) throw new Hostile('guard');
        return true;
      },
    },
  }).createMachine({
    context: { n: 0 },
    on: {
      work: { guard: 'flaky', actions: ['maybeThrow', assign({ n: ({ context }) => context.n + 1 })] },
    },
  });
  return () => {
    if (random() < rates.factory) throw new Hostile('machine factory');
    return fromMachine(machine);
  };
}

type Step =
  | { kind: 'tell'; target: number; async: boolean }
  | { kind: 'send'; target: number }
  | { kind: 'ask'; target: number }
  | { kind: 'pause'; target: number }
  | { kind: 'timer'; target: number }
  | { kind: 'stop'; target: number }
  | { kind: 'restart'; target: number }
  | { kind: 'publish' }
  | { kind: 'advance'; ms: number }
  | { kind: 'settle' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('tell' as const), target: fc.nat(5), async: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('send' as const), target: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ask' as const), target: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), target: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timer' as const), target: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stop' as const), target: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), target: fc.nat(5) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'publish' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 50 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

const rate = fc.double({ min: 0, max: 0.3, noNaN: true });
const rates: fc.Arbitrary<Rates> = fc.record({
  factory: rate,
  handler: rate,
  hook: rate,
  logger: rate,
  clock: fc.double({ min: 0, max: 0.05, noNaN: true }),
  ids: rate,
  listener: rate,
  filter: rate,
});

const IDS = ['w0', 'w1', 'w2', 'm0', 'm1', 'w3'];

async function runProgram(seed: number, r: Rates, steps: readonly Step[]): Promise<void> {
  const random = prng(seed);
  const virtual = new VirtualClock();
  const clock = hostileClock(virtual, random, r.clock);
  const audit = Auditor.start();
  const system = ActorSystem.start({
    name: `hostile-${seed}`,
    clock,
    logger: hostileLogger(random, r.logger),
    ids: () => {
      if (random() < r.ids) throw new Hostile('ids');
      return `id${Math.floor(random() * 1e9)}`;
    },
    askTimeoutMs: 100,
  });
  system.events.subscribe(() => {
    if (random() < r.listener) throw new Hostile('listener');
  });
  const specs = IDS.map((id) => ({
    id,
    start: (id.startsWith('m') ? machineChild(random, r) : worker(random, r)) as () => never,
  }));
  const sup = system.spawn(
    supervisor({
      strategy: (['oneForOne', 'oneForAll', 'restForOne'] as const)[seed % 3] ?? 'oneForOne',
      intensity: { maxRestarts: 1000, withinMs: 1000 },
      backoff: seed % 2 === 0 ? { minMs: 1, maxMs: 5 } : undefined,
      children: [...specs, { id: 'bus', start: () => topic<{ type: 'work'; n: number }>() }],
    } as Parameters<typeof supervisor>[0]),
    { name: 'tree' },
  );
  const canary = system.spawn(
    receive<null, { type: 'ping'; replyTo: ActorRef<{ type: 'pong' }> }>(null, (s, m) => {
      m.replyTo.tell({ type: 'pong' });
      return s;
    }),
    { name: 'canary' },
  );
  const ref = (i: number) => system.lookup(`/user/tree/${IDS[i % IDS.length]}`) as ActorRef<Work> | undefined;
  const bus = () => system.lookup('/user/tree/bus') as ActorRef<Message> | undefined;

  // Subscribe two workers with filters that throw at random.
  for (const i of [0, 1]) {
    const sub = ref(i);
    const b = bus();
    if (sub === undefined || b === undefined) continue;
    b.tell({
      type: '$topic.subscribe',
      subscriber: sub,
      options: {
        filter: () => {
          if (random() < r.filter) throw new Hostile('filter');
          return true;
        },
      },
    } as unknown as Message);
  }

  const pending: Promise<unknown>[] = [];
  let n = 0;
  for (const s of steps) {
    const target = 'target' in s ? ref(s.target) : undefined;
    switch (s.kind) {
      case 'tell':
        target?.tell(s.async ? { type: 'async', n: n++ } : { type: 'work', n: n++ });
        break;
      case 'send':
        if (target !== undefined) pending.push(target.send({ type: 'work', n: n++ }).catch(() => {}));
        break;
      case 'ask':
        if (target !== undefined)
          pending.push(target.ask((replyTo) => ({ type: 'ask', replyTo })).catch(() => {}));
        break;
      case 'pause':
        target?.tell({ type: 'pause' });
        break;
      case 'timer':
        target?.tell({ type: 'timer' });
        break;
      case 'stop':
        if (target !== undefined) pending.push(system.stop(target, { timeoutMs: 5 }).catch(() => {}));
        break;
      case 'restart':
        pending.push(
          Supervisor.restartChild(
            sup as ActorRef<SupervisorMessage>,
            IDS[s.target % IDS.length] as string,
          ).catch(() => {}),
        );
        break;
      case 'publish':
        bus()?.tell({ type: 'work', n: n++ } as Message);
        break;
      case 'advance':
        virtual.advance(s.ms);
        break;
      case 'settle':
        await settle(system);
        break;
    }
  }
  await settle(system);
  virtual.advance(200); // ask timeouts, pauses, backoffs
  await settle(system);
  clock.armed = false; // the canary's ask and the shutdown need a working clock
  const pong = await canary.ask<{ type: 'pong' }>((replyTo) => ({ type: 'ping', replyTo }));
  expect(pong).toEqual({ type: 'pong' });
  virtual.advance(200);
  await settle(system);
  await Promise.all(pending.map((p) => Promise.race([p, Promise.resolve()])));
  await shutdownAdvancing(system, virtual, { timeoutMs: 1000 });
  expect(await audit.finish()).toEqual([]);
}

describe('hostile callbacks in a busy supervised tree', () => {
  it('the dispatcher survives, nothing escapes, and every message is accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), rates, fc.array(step, { minLength: 10, maxLength: 120 }), runProgram),
      // A fixed seed keeps CI deterministic (and the every-kind-threw check below meaningful);
      // FC_SEED explores others.
      { numRuns: size(40, 400), seed: Number(process.env.FC_SEED ?? 20261202) },
    );
    // Every kind of callback threw at least once over the runs (checked for the default seed,
    // whose runs are known to reach every kind; another FC_SEED explores without this check).
    if (process.env.FC_SEED !== undefined) return;
    for (const where of [
      'factory',
      'handler',
      'async handler',
      'unhandled then throw',
      'onRestart',
      'action',
      'guard',
      'clock.setTimeout',
      'ids',
      'listener',
      'filter',
    ]) {
      expect(thrown.get(where) ?? 0, where).toBeGreaterThan(0);
    }
    expect([...thrown.keys()].some((k) => k.startsWith('logger.'))).toBe(true);
  }, 60_000);
});
