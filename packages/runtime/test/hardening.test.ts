// Regression tests for the defects of the core-hardening issue: each one broke a guarantee
// ("nothing is lost silently", "errors never escape", "restarts keep the mailbox") before its fix.
import {
  type ActorRef,
  ActorSystem,
  type Clock,
  type DeadLetter,
  type Logger,
  type Message,
  RestartIntensityError,
  receive,
  type SystemEvent,
  supervisor,
} from '@troupe/runtime';
import { logSink, settle, VirtualClock } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';
import { AskTimeouts } from '../src/actor/ask-timeouts.js';

// Escapes to uncaughtException / unhandledRejection fail every test through test/setup/audit.ts.

type Cmd = { type: 'inc' } | { type: 'crash' } | { type: 'get'; replyTo: ActorRef<{ type: 'n'; n: number }> };

/** A counter that keeps working while its neighbours misbehave: the canary of a frozen dispatcher. */
const counter = receive<number, Cmd>(0, (n, m) => {
  if (m.type === 'inc') return n + 1;
  if (m.type === 'crash') throw new Error('crash');
  m.replyTo.tell({ type: 'n', n });
  return n;
});

function collect(system: ActorSystem): SystemEvent[] {
  const events: SystemEvent[] = [];
  system.events.subscribe((e) => events.push(e));
  return events;
}

async function count(ref: ActorRef<Cmd>): Promise<number> {
  return (await ref.ask<{ type: 'n'; n: number }>((replyTo) => ({ type: 'get', replyTo }))).n;
}

describe('a throwing user callback never freezes the dispatcher', () => {
  it("a child spec's start factory that throws during a restart is a failed start that counts toward intensity; other actors keep running", async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'factory', clock });
    const events = collect(system);
    let starts = 0;
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 3, withinMs: 1000 },
        children: [
          {
            id: 'flaky',
            start: () => {
              if (starts++ > 0) throw new Error('factory broke');
              return counter;
            },
          },
        ],
      }),
      { name: 'sup' },
    );
    const canary = system.spawn(counter, { name: 'canary' });
    (system.lookup('/user/sup/flaky') as ActorRef<Cmd>).tell({ type: 'crash' });
    await settle(system);
    canary.tell({ type: 'inc' });
    expect(await count(canary)).toBe(1);
    const failedStarts = events.filter((e) => e.type === 'ActorFailed' && e.phase === 'start');
    expect(failedStarts).toHaveLength(3); // three restart attempts, each a failed start
    expect(events.some((e) => e.type === 'ActorRestarted')).toBe(false); // none ever started
    const escalated = events.find((e) => e.type === 'SupervisorEscalated');
    expect(escalated).toMatchObject({ path: '/user/sup' });
    expect((escalated as { error: unknown }).error).toBeInstanceOf(RestartIntensityError);
    await system.shutdown();
  });

  it('a factory that returns something that is not a behaviour is a failed start too', async () => {
    const system = ActorSystem.start({ name: 'not-a-behaviour' });
    const events = collect(system);
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 1, withinMs: 1000 },
        children: [{ id: 'bad', start: () => ({}) as never }],
      }),
      { name: 'sup' },
    );
    await settle(system);
    const failure = events.find((e) => e.type === 'ActorFailed' && e.path === '/user/sup/bad');
    expect(failure).toMatchObject({ phase: 'start' });
    expect(String((failure as { error: unknown }).error)).toMatch(
      /what start\(\) returned must come from receive\(\) or fromMachine\(\)/,
    );
    await system.shutdown();
  });

  it('a logger whose error/warn throw while actors fail breaks nothing: supervision goes on, other actors run', async () => {
    const { logger } = logSink('debug');
    const broken: Logger = new Proxy(logger, {
      get(target, key, receiver) {
        if (key === 'error' || key === 'warn') {
          return () => {
            throw new Error('logger broke');
          };
        }
        if (key === 'child') return () => broken;
        return Reflect.get(target, key, receiver);
      },
    });
    const system = ActorSystem.start({ name: 'bad-logger', logger: broken });
    const events = collect(system);
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 100, withinMs: 1000 },
        children: [{ id: 'w', behavior: counter }],
      }),
      { name: 'sup' },
    );
    const worker = system.lookup('/user/sup/w') as ActorRef<Cmd>;
    for (let i = 0; i < 5; i++) worker.tell({ type: 'crash' });
    worker.tell({ type: 'inc' });
    expect(await count(worker)).toBe(1);
    expect(events.filter((e) => e.type === 'ActorRestarted')).toHaveLength(5);
    await system.shutdown();
  });

  it('a clock whose setTimeout throws fails only the actor that used it (ctx.pause); the rest runs', async () => {
    const real = new VirtualClock();
    let broken = false;
    const clock: Clock = {
      now: () => real.now(),
      setTimeout: (cb, ms) => {
        if (broken) throw new Error('clock broke');
        return real.setTimeout(cb, ms);
      },
      clearTimeout: (h) => real.clearTimeout(h),
    };
    const system = ActorSystem.start({ name: 'bad-clock', clock });
    const events = collect(system);
    const pauser = system.spawn(
      receive<null, Message>(null, (s, _m, ctx) => {
        ctx.pause(5);
        return s;
      }),
      { name: 'pauser' },
    );
    const canary = system.spawn(counter, { name: 'canary' });
    broken = true;
    pauser.tell({ type: 'go' });
    canary.tell({ type: 'inc' });
    await settle(system);
    broken = false;
    expect(await count(canary)).toBe(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'ActorFailed', path: '/user/pauser' }));
    expect(system.inspect(pauser)?.status).toBe('stopped');
    await system.shutdown();
  });

  it('an id generator that throws: actors still get ids (a fallback), and everything works', async () => {
    const { logger, lines } = logSink('error');
    const system = ActorSystem.start({
      name: 'bad-ids',
      logger,
      ids: () => {
        throw new Error('ids broke');
      },
    });
    const ref = system.spawn(counter, { name: 'c' });
    ref.tell({ type: 'inc' });
    expect(await count(ref)).toBe(1);
    expect(typeof ref.id).toBe('string');
    expect(ref.id.length).toBeGreaterThan(0);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'ids() failed: using nanoid ids instead' }));
    await system.shutdown();
  });

  it('ActorSystem.start validates clock, ids and logger up front, naming the bad field', () => {
    expect(() => ActorSystem.start({ name: 'x', clock: {} as Clock })).toThrow(
      /clock\.now must be a function/,
    );
    expect(() => ActorSystem.start({ name: 'x', clock: null as unknown as Clock })).toThrow(/clock must be/);
    expect(() => ActorSystem.start({ name: 'x', ids: 'abc' as never })).toThrow(/ids must be a function/);
    expect(() => ActorSystem.start({ name: 'x', logger: { info() {} } as never })).toThrow(/logger\.trace/);
  });

  it('an event-stream subscriber that throws is contained, even when the logger throws too', async () => {
    const broken = new Proxy(logSink().logger, {
      get: (t, k, r) =>
        k === 'error'
          ? () => {
              throw new Error('logger broke');
            }
          : Reflect.get(t, k, r),
    });
    const system = ActorSystem.start({ name: 'bad-listener', logger: broken });
    system.events.subscribe(() => {
      throw new Error('listener broke');
    });
    const ref = system.spawn(counter);
    ref.tell({ type: 'inc' });
    expect(await count(ref)).toBe(1);
    await system.shutdown();
  });
});

describe('ctx.unhandled() applies to its own message only', () => {
  it('a handler that marks its message unhandled and then throws does not leak the mark into the next message', async () => {
    const system = ActorSystem.start({ name: 'unhandled-throw' });
    const dead: DeadLetter[] = [];
    system.events.subscribe((e) => e.type === 'DeadLetter' && dead.push(e));
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [
          {
            id: 'w',
            behavior: receive<number, Message>(0, (n, m, ctx) => {
              if (m.type === 'bad') {
                ctx.unhandled();
                throw new Error('then it threw');
              }
              return n + 1;
            }),
          },
        ],
      }),
      { name: 'sup' },
    );
    const w = system.lookup('/user/sup/w') as ActorRef<Message>;
    w.tell({ type: 'bad' });
    w.tell({ type: 'good' });
    await settle(system);
    expect(dead.map((d) => d.reason)).toEqual(['failed']);
    expect(system.inspect(w)).toMatchObject({ processed: 1, unhandled: 0, failed: 1 });
    await system.shutdown();
  });

  it('an async handler that marked its message unhandled and was abandoned by a restart does not leak the mark', async () => {
    const system = ActorSystem.start({ name: 'unhandled-abandoned' });
    const dead: DeadLetter[] = [];
    system.events.subscribe((e) => e.type === 'DeadLetter' && dead.push(e));
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [
          {
            id: 'w',
            behavior: receive<number, Message>(0, async (n, m, ctx) => {
              if (m.type === 'hang') {
                ctx.unhandled();
                await new Promise(() => {}); // never settles
              }
              return n + 1;
            }),
          },
        ],
      }),
      { name: 'sup' },
    );
    const w = system.lookup('/user/sup/w') as ActorRef<Message>;
    w.tell({ type: 'hang' });
    await settle(system);
    await system.stop(w, { timeoutMs: 0 }); // an exit the supervisor answers with a restart
    w.tell({ type: 'good' });
    await settle(system);
    expect(dead.map((d) => d.reason)).toEqual(['stopped']); // the abandoned 'hang'
    expect(system.inspect(w)).toMatchObject({ processed: 1, unhandled: 0, restarts: 1 });
    await system.shutdown();
  });
});

describe('asks', () => {
  it('memory follows the pending asks, not the ask rate × timeout: settled asks behind a pending one are swept', () => {
    const clock = new VirtualClock();
    const asks = new AskTimeouts(clock);
    const entry = () => ({ deadline: 0, settled: false, queue: null as unknown, expire() {} });
    const oldest = entry();
    asks.add(oldest, 5000);
    for (let i = 0; i < 100_000; i++) {
      const e = entry();
      asks.add(e, 5000);
      e.settled = true;
      asks.settled(e);
    }
    expect(asks.held).toBeLessThan(200); // was 100,001 before the fix
    oldest.settled = true;
    asks.settled(oldest);
  });

  it('a clock that throws when an ask timer re-arms inside its own callback: the remaining asks time out now, nothing escapes', () => {
    const inner = new VirtualClock();
    let calls = 0;
    const clock: Clock = {
      now: () => inner.now(),
      setTimeout: (cb, ms) => {
        if (++calls > 1) throw new Error('clock broke');
        return inner.setTimeout(cb, ms);
      },
      clearTimeout: (h) => inner.clearTimeout(h),
    };
    const asks = new AskTimeouts(clock);
    const expired: number[] = [];
    const entry = (n: number) => ({
      deadline: 0,
      settled: false,
      queue: null as unknown,
      expire() {
        this.settled = true;
        expired.push(n);
        asks.settled(this);
      },
    });
    asks.add(entry(1), 10); // arms the timer (call 1)
    asks.add(entry(2), 20); // later deadline: no re-arm
    expect(() => inner.advance(10)).not.toThrow(); // expires 1; re-arming for 2 throws: 2 expires now
    expect(expired).toEqual([1, 2]);
  });

  it('many asks settled behind one that never gets a reply do not pile up in a running system', async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'ask-leak', clock });
    const silent = system.spawn(receive<null, Message>(null, (s) => s));
    const echo = system.spawn(
      receive<null, { type: 'q'; replyTo: ActorRef<Message> }>(null, (s, m) => {
        m.replyTo.tell({ type: 'a' });
        return s;
      }),
    );
    const pending = silent.ask(() => ({ type: 'never' }), { timeoutMs: 60_000 });
    for (let i = 0; i < 2000; i++) await echo.ask((replyTo) => ({ type: 'q', replyTo }));
    clock.advance(60_000);
    await expect(pending).rejects.toThrow('timed out');
    await system.shutdown();
  });
});

describe('system.stop has the contract of a supervised shutdown', () => {
  it('a top-level actor stuck in an async handler is stopped hard after its shutdownMs; what is queued becomes dead letters', async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'stuck', clock });
    const dead: DeadLetter[] = [];
    system.events.subscribe((e) => e.type === 'DeadLetter' && dead.push(e));
    const ref = system.spawn(
      receive<null, Message>(null, async (s) => {
        await new Promise(() => {}); // stuck for ever
        return s;
      }),
      { name: 'stuck', shutdownMs: 100 },
    );
    ref.tell({ type: 'first' });
    ref.tell({ type: 'second' });
    await settle(system);
    let stopped = false;
    const stopping = system.stop(ref).then(() => {
      stopped = true;
    });
    await settle(system);
    expect(stopped).toBe(false); // still draining (within shutdownMs)
    clock.advance(100);
    await stopping;
    expect(system.inspect(ref)).toMatchObject({ status: 'stopped', received: 2, deadLettered: 2 });
    expect(dead.map((d) => [d.reason, (d.message as Message).type])).toEqual([
      ['stopped', 'first'],
      ['stopped', 'second'],
    ]);
    await system.shutdown();
  });

  it('a graceful stop handles what is queued first', async () => {
    const system = ActorSystem.start({ name: 'drain' });
    const ref = system.spawn(counter);
    for (let i = 0; i < 10; i++) ref.tell({ type: 'inc' });
    await system.stop(ref);
    expect(system.inspect(ref)).toMatchObject({ status: 'stopped', processed: 10 });
    await system.shutdown();
  });

  it('a parent drains before its children stop: what it forwards while draining is processed, not a dead letter', async () => {
    const system = ActorSystem.start({ name: 'forwarder' });
    const dead: DeadLetter[] = [];
    system.events.subscribe((e) => e.type === 'DeadLetter' && dead.push(e));
    let child: ActorRef<Cmd> | undefined;
    const parent = system.spawn(
      receive<null, Cmd>(
        null,
        async (s, m) => {
          await Promise.resolve(); // forwards from an async handler, as a router does
          child?.tell(m);
          return s;
        },
        {
          onStart: (ctx) => {
            child = ctx.spawn(counter, { name: 'child' });
            return null;
          },
        },
      ),
    );
    for (let i = 0; i < 20; i++) parent.tell({ type: 'inc' });
    await system.shutdown();
    expect(dead).toEqual([]);
    expect(system.inspect(child as ActorRef<Cmd>)).toMatchObject({ status: 'stopped', processed: 20 });
  });

  it('stopping the /user guardian is the shutdown: nothing spawned later outlives it', async () => {
    const system = ActorSystem.start({ name: 'guardian' });
    const top = system.spawn(
      receive<null, Message>(null, (s, _m, ctx) => {
        void ctx.system.stop(ctx.parent);
        return s;
      }),
    );
    top.tell({ type: 'stop my parent' });
    await settle(system);
    await system.shutdown(); // resolves: the same shutdown
    expect(() => system.spawn(counter)).toThrow(/shut down/);
    expect(system.inspect(top)?.status).toBe('stopped');
  });
});

describe('counting and bad input', () => {
  it('a fired timer message replaced before it was handled is counted as cancelled: the ledger holds', async () => {
    const clock = new VirtualClock();
    const system = ActorSystem.start({ name: 'timers', clock });
    let handled = 0;
    const ref = system.spawn(
      receive<null, Message>(null, async (s, m, ctx) => {
        if (m.type === 'arm') ctx.timers.startSingle('t', { type: 'tick' }, 10);
        if (m.type === 'block') {
          clock.advance(10); // the timer fires while this handler runs: its message is queued
          ctx.timers.startSingle('t', { type: 'tick' }, 1000); // replaced: the queued one is stale
        }
        if (m.type === 'tick') handled++;
        return s;
      }),
    );
    ref.tell({ type: 'arm' });
    ref.tell({ type: 'block' });
    await settle(system);
    const s = system.inspect(ref);
    expect(handled).toBe(0);
    expect(s).toMatchObject({ received: 3, processed: 2, cancelled: 1, mailboxDepth: 0 });
    await system.shutdown();
  });

  it('tell never throws, even on a message whose type getter throws: an invalid dead letter', async () => {
    const system = ActorSystem.start({ name: 'getter' });
    const dead: DeadLetter[] = [];
    system.events.subscribe((e) => e.type === 'DeadLetter' && dead.push(e));
    const ref = system.spawn(counter);
    const evil = {
      get type(): string {
        throw new Error('gotcha');
      },
    };
    expect(() => ref.tell(evil as unknown as Cmd)).not.toThrow();
    expect(() => ref.trySend(evil as unknown as Cmd)).toThrow(TypeError);
    await expect(ref.send(evil as unknown as Cmd)).rejects.toThrow(TypeError);
    expect(dead.map((d) => d.reason)).toEqual(['invalid']);
    await system.shutdown();
  });

  it("spawn refuses `mailbox: 5` and the names '.' and '..', naming the field", async () => {
    const system = ActorSystem.start({ name: 'options' });
    expect(() => system.spawn(counter, { mailbox: 5 as never })).toThrow(/mailbox must be an object/);
    expect(() => system.spawn(counter, { name: '..' })).toThrow(/actor name/);
    expect(() => system.spawn(counter, { name: '.' })).toThrow(/actor name/);
    await system.shutdown();
  });

  it('a raw XState machine passed to spawn is a TypeError that says to use fromMachine', async () => {
    const { createMachine } = await import('xstate');
    const system = ActorSystem.start({ name: 'raw-machine' });
    expect(() => system.spawn(createMachine({}) as never)).toThrow(/wrap it with fromMachine/);
    await system.shutdown();
  });

  it('a raw XState machine in a child spec is the same TypeError, at once or as a failed start', async () => {
    const { createMachine } = await import('xstate');
    const machine = createMachine({});
    expect(() =>
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 1, withinMs: 1000 },
        children: [{ id: 'raw', behavior: machine as never }],
      }),
    ).toThrow(/child "raw".*raw XState machine; wrap it with fromMachine/);
    const system = ActorSystem.start({ name: 'raw-machine-factory' });
    const events = collect(system);
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 0, withinMs: 1000 },
        children: [{ id: 'raw', start: () => machine as never }],
      }),
    );
    await settle(system);
    const failure = events.find((e) => e.type === 'ActorFailed' && e.phase === 'start');
    expect(String((failure as { error: unknown }).error)).toMatch(/wrap it with fromMachine/);
    await system.shutdown();
  });
});
