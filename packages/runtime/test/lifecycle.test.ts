import {
  type ActorRef,
  ActorSystem,
  type Message,
  receive,
  type SystemEvent,
  type Terminated,
} from '@troupe/runtime';
import { settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Cmd = { type: 'boom' } | { type: 'reject' } | { type: 'ok'; n: number } | { type: 'stopSelf' };
let system: ActorSystem;
let clock: VirtualClock;
let events: SystemEvent[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'lifecycle', clock });
  events = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown();
});

const idle = receive<null, Message>(null, (s) => s);

function fragile(seen: number[]) {
  return receive<null, Cmd>(null, async (s, m, ctx) => {
    if (m.type === 'boom') throw new Error('boom');
    if (m.type === 'reject') return Promise.reject(new Error('rejected'));
    if (m.type === 'stopSelf') ctx.stop();
    if (m.type === 'ok') seen.push(m.n);
    return s;
  });
}

describe('failure', () => {
  it('a throwing handler fails the actor: ActorFailed, the message as a failed dead letter, then stopped with the error', async () => {
    const seen: number[] = [];
    const ref = system.spawn(fragile(seen), { name: 'fragile' });
    ref.tell({ type: 'ok', n: 1 });
    ref.tell({ type: 'boom' });
    ref.tell({ type: 'ok', n: 2 });
    await settle(system);
    expect(seen).toEqual([1]);
    const types = events.map((e) => (e.type === 'DeadLetter' ? `DeadLetter:${e.reason}` : e.type));
    expect(types).toEqual([
      'ActorStarted',
      'DeadLetter:failed',
      'ActorFailed',
      'ActorExited',
      'DeadLetter:stopped',
      'ActorStopped',
    ]);
    const failed = events.find((e) => e.type === 'DeadLetter' && e.reason === 'failed') as {
      error: Error;
      message: Cmd;
    };
    expect(failed.message).toEqual({ type: 'boom' });
    expect(failed.error.message).toBe('boom');
    const stopped = events.at(-1) as { reason: { type: string; error: Error } };
    expect(stopped.reason.type).toBe('error');
    expect(stopped.reason.error.message).toBe('boom');
  });

  it('a rejected async handler is a failure too', async () => {
    const ref = system.spawn(fragile([]));
    ref.tell({ type: 'reject' });
    await settle(system);
    expect(events.some((e) => e.type === 'ActorFailed' && (e.error as Error).message === 'rejected')).toBe(
      true,
    );
  });

  it('a behaviour that throws at start fails at once (ActorFailed, phase start; no ActorStarted): spawn returns a ref to a stopped actor', async () => {
    const ref = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: () => {
          throw new Error('bad start');
        },
      }),
      { name: 'doa' },
    );
    ref.tell({ type: 'hello' });
    expect(events.map((e) => e.type)).toEqual(['ActorFailed', 'ActorStopped', 'DeadLetter']);
    expect(events[0]).toMatchObject({ type: 'ActorFailed', path: '/user/doa', phase: 'start' });
    await expect(ref.ask(() => ({ type: 'q' }))).rejects.toThrow('stopped');
  });
});

describe('stop', () => {
  it('ctx.stop() stops the actor after the current message, reason normal; the rest become stopped dead letters', async () => {
    const seen: number[] = [];
    const ref = system.spawn(fragile(seen));
    ref.tell({ type: 'ok', n: 1 });
    ref.tell({ type: 'stopSelf' });
    ref.tell({ type: 'ok', n: 2 });
    await settle(system);
    expect(seen).toEqual([1]);
    expect(
      events.filter((e) => e.type === 'DeadLetter').map((e) => (e as { message: unknown }).message),
    ).toEqual([{ type: 'ok', n: 2 }]);
    expect(events.at(-1)).toMatchObject({ type: 'ActorStopped', reason: { type: 'normal' } });
  });

  it('a stop request waits for the in-flight async handler', async () => {
    let release!: () => void;
    const done: string[] = [];
    const ref = system.spawn(
      receive<null, Message>(null, async (s) => {
        await new Promise<void>((r) => {
          release = r;
        });
        done.push('handled');
        return s;
      }),
    );
    ref.tell({ type: 'work' });
    await settle(system);
    system.stop(ref);
    await settle(system);
    expect(events.some((e) => e.type === 'ActorStopped')).toBe(false);
    release();
    await settle(system);
    expect(done).toEqual(['handled']);
    expect(events.at(-1)).toMatchObject({ type: 'ActorStopped', reason: { type: 'shutdown' } });
  });

  it('children stop before their parent, in reverse start order', async () => {
    const parent = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.spawn(idle, { name: 'first' });
          ctx.spawn(idle, { name: 'second' });
          return null;
        },
      }),
      { name: 'parent' },
    );
    system.stop(parent);
    await settle(system);
    const stopped = events.filter((e) => e.type === 'ActorStopped').map((e) => (e as { path: string }).path);
    expect(stopped).toEqual(['/user/parent/second', '/user/parent/first', '/user/parent']);
  });

  it('an actor can stop its children but not strangers (TypeError)', async () => {
    const stranger = system.spawn(idle, { name: 'stranger' });
    const errors: unknown[] = [];
    let child: ActorRef<Message> | undefined;
    const parent = system.spawn(
      receive<null, { type: 'stopChild' } | { type: 'stopStranger' }>(
        null,
        (s, m, ctx) => {
          try {
            ctx.stop(m.type === 'stopChild' ? child : stranger);
          } catch (error) {
            errors.push(error);
          }
          return s;
        },
        {
          onStart: (ctx) => {
            child = ctx.spawn(idle, { name: 'kid' });
            return null;
          },
        },
      ),
    );
    parent.tell({ type: 'stopStranger' });
    parent.tell({ type: 'stopChild' });
    await settle(system);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(system.lookup('/user/stranger')).toBe(stranger);
    expect(child !== undefined && system.lookup(child.path)).toBeUndefined();
  });

  it('the onStop hook runs once with the exit reason', async () => {
    const reasons: unknown[] = [];
    const ref = system.spawn(
      receive<null, Message>(null, (s) => s, { onStop: (_s, reason) => reasons.push(reason) }),
    );
    system.stop(ref);
    await settle(system);
    await system.shutdown();
    expect(reasons).toEqual([{ type: 'shutdown' }]);
  });
});

describe('death watch', () => {
  it('a watcher gets Terminated with the reason when the watched actor stops', async () => {
    const watched = system.spawn(fragile([]), { name: 'watched' });
    const probe = new TestProbe<Message>(system);
    probe.watch(watched);
    await settle(system);
    await probe.expectNoMessage();
    watched.tell({ type: 'boom' });
    const signal = await probe.expectTerminated(watched);
    expect(signal.ref).toBe(watched);
    expect(signal.reason.type).toBe('error');
  });

  it('watching an actor that is already dead delivers Terminated at once', async () => {
    const dead = system.spawn(idle);
    system.stop(dead);
    await settle(system);
    const probe = new TestProbe<Message>(system);
    const signal = await probe.expectTerminated(dead);
    expect(signal.reason).toEqual({ type: 'shutdown' });
  });

  it('after unwatch no Terminated is delivered', async () => {
    const watched = system.spawn(idle);
    const got: Terminated[] = [];
    const watcher = system.spawn(
      receive<null, { type: 'unwatch' }>(
        null,
        (s, _m, ctx) => {
          ctx.unwatch(watched);
          return s;
        },
        {
          onStart: (ctx) => {
            ctx.watch(watched);
            return null;
          },
          onTerminated: (s, signal) => {
            got.push(signal);
            return s;
          },
        },
      ),
    );
    watcher.tell({ type: 'unwatch' });
    await settle(system);
    system.stop(watched);
    await settle(system);
    expect(got).toEqual([]);
  });

  it('Terminated without an onTerminated handler is an unhandled dead letter', async () => {
    const watched = system.spawn(idle);
    system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.watch(watched);
          return null;
        },
      }),
      { name: 'careless' },
    );
    system.stop(watched);
    await settle(system);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'DeadLetter', reason: 'unhandled', recipient: '/user/careless' }),
    );
  });
});

describe('timers (virtual time)', () => {
  type Tick =
    | { type: 'tick'; label: string }
    | { type: 'arm'; key: string; label: string; ms: number; periodic?: boolean }
    | { type: 'cancel'; key: string };

  function ticker(seen: string[]) {
    return receive<null, Tick>(null, (s, m, ctx) => {
      if (m.type === 'tick') seen.push(m.label);
      else if (m.type === 'cancel') ctx.timers.cancel(m.key);
      else if (m.periodic) ctx.timers.startPeriodic(m.key, { type: 'tick', label: m.label }, m.ms);
      else ctx.timers.startSingle(m.key, { type: 'tick', label: m.label }, m.ms);
      return s;
    });
  }

  it('a single timer delivers its message once, at its time', async () => {
    const seen: string[] = [];
    const ref = system.spawn(ticker(seen));
    ref.tell({ type: 'arm', key: 'k', label: 'once', ms: 100 });
    await settle(system);
    clock.advance(99);
    await settle(system);
    expect(seen).toEqual([]);
    clock.advance(1);
    await settle(system);
    clock.advance(1000);
    await settle(system);
    expect(seen).toEqual(['once']);
  });

  it('a periodic timer fires every interval until cancelled', async () => {
    const seen: string[] = [];
    const ref = system.spawn(ticker(seen));
    ref.tell({ type: 'arm', key: 'p', label: 'p', ms: 10, periodic: true });
    await settle(system);
    for (let i = 0; i < 3; i++) {
      clock.advance(10);
      await settle(system);
    }
    ref.tell({ type: 'cancel', key: 'p' });
    await settle(system);
    clock.advance(100);
    await settle(system);
    expect(seen).toEqual(['p', 'p', 'p']);
  });

  it('replacing a key drops the old message even if it already fired and is queued', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const ref = system.spawn(
      receive<null, Tick | { type: 'block' }>(null, async (s, m, ctx) => {
        if (m.type === 'block') {
          await new Promise<void>((r) => {
            release = r;
          });
          ctx.timers.startSingle('k', { type: 'tick', label: 'new' }, 5);
        } else if (m.type === 'tick') seen.push(m.label);
        else if (m.type === 'arm') ctx.timers.startSingle(m.key, { type: 'tick', label: m.label }, m.ms);
        return s;
      }),
    );
    ref.tell({ type: 'arm', key: 'k', label: 'old', ms: 5 });
    ref.tell({ type: 'block' });
    await settle(system);
    clock.advance(5); // 'old' fires while the actor is blocked: it sits in the mailbox
    release(); // the handler now replaces key 'k'
    await settle(system);
    clock.advance(5);
    await settle(system);
    expect(seen).toEqual(['new']);
  });

  it('timers are cancelled when the actor stops', async () => {
    const seen: string[] = [];
    const ref = system.spawn(ticker(seen));
    ref.tell({ type: 'arm', key: 'k', label: 'late', ms: 10 });
    await settle(system);
    system.stop(ref);
    await settle(system);
    expect(clock.pending).toBe(0);
  });

  it('negative or NaN delays are a RangeError (a failure of the actor that asked)', async () => {
    const ref = system.spawn(ticker([]));
    ref.tell({ type: 'arm', key: 'k', label: 'x', ms: -1 });
    await settle(system);
    const failed = events.find((e) => e.type === 'ActorFailed') as { error: Error } | undefined;
    expect(failed?.error).toBeInstanceOf(RangeError);
  });
});

describe('pause (virtual time)', () => {
  it('ctx.pause(ms) takes no message for ms after the current one; messages keep queuing', async () => {
    const seen: number[] = [];
    const ref = system.spawn(
      receive<null, { type: 'n'; n: number }>(null, (s, m, ctx) => {
        seen.push(m.n);
        ctx.pause(100);
        return s;
      }),
    );
    for (let n = 0; n < 3; n++) ref.tell({ type: 'n', n });
    await settle(system);
    expect(seen).toEqual([0]);
    expect(system.inspect(ref)?.mailboxDepth).toBe(2);
    clock.advance(99);
    await settle(system);
    expect(seen).toEqual([0]);
    clock.advance(1);
    await settle(system);
    expect(seen).toEqual([0, 1]);
    clock.advance(100);
    await settle(system);
    expect(seen).toEqual([0, 1, 2]);
    clock.advance(100);
  });

  it('a negative pause is a RangeError (a failure of the actor)', async () => {
    const ref = system.spawn(
      receive<null, Message>(null, (s, _m, ctx) => {
        ctx.pause(-1);
        return s;
      }),
    );
    ref.tell({ type: 'x' });
    await settle(system);
    expect(
      (events.find((e) => e.type === 'ActorFailed') as { error: unknown } | undefined)?.error,
    ).toBeInstanceOf(RangeError);
  });
});

describe('an async onStart (state loaded from elsewhere)', () => {
  /** A start that resolves (or rejects) when the test says so. */
  function deferred<T>() {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  it('takes no message until it resolves; what arrives waits in the mailbox, in order, then runs on the loaded state', async () => {
    const load = deferred<number[]>();
    const ref = system.spawn(
      receive<number[], { type: 'ok'; n: number }>([], (seen, m) => [...seen, m.n], {
        onStart: () => load.promise,
        describe: (seen) => ({ seen }),
      }),
      { name: 'loader' },
    );
    ref.tell({ type: 'ok', n: 1 });
    ref.tell({ type: 'ok', n: 2 });
    await settle(system);
    expect(system.inspect(ref)).toMatchObject({ mailboxDepth: 2, processed: 0 });
    expect(system.tree().children.find((c) => c.name === 'loader')?.details).toEqual({ starting: true });
    load.resolve([0]);
    await settle(system);
    expect(system.inspect(ref)).toMatchObject({ mailboxDepth: 0, processed: 2 });
    expect(system.tree().children.find((c) => c.name === 'loader')?.details).toEqual({ seen: [0, 1, 2] });
  });

  it('a rejection is a failed start; under a supervisor the restart runs onStart again and queued mail survives', async () => {
    const { supervisor } = await import('@troupe/runtime');
    const starts: ReturnType<typeof deferred<number>>[] = [];
    const seen: number[] = [];
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 3, withinMs: 10_000 },
        children: [
          {
            id: 'child',
            behavior: receive<number, { type: 'ok'; n: number }>(
              0,
              (base, m) => {
                seen.push(base + m.n);
                return base;
              },
              {
                onStart: () => {
                  const start = deferred<number>();
                  starts.push(start);
                  return start.promise;
                },
              },
            ),
          },
        ],
      }),
      { name: 'sup' },
    );
    const child = system.lookup('/user/sup/child') as ActorRef<{ type: 'ok'; n: number }>;
    child.tell({ type: 'ok', n: 1 });
    starts[0]?.reject(new Error('database unreachable'));
    await settle(system);
    const failed = events.filter((e) => e.type === 'ActorFailed');
    expect(failed).toMatchObject([{ phase: 'start' }]);
    expect(String((failed[0] as { error: unknown }).error)).toMatch(/database unreachable/);
    expect(starts).toHaveLength(2);
    expect(seen).toEqual([]);
    starts[1]?.resolve(100);
    await settle(system);
    expect(seen).toEqual([101]);
    expect(system.inspect(child)?.restarts).toBe(1);
  });

  it('a graceful stop while it loads waits for the load, drains, then stops on the loaded state', async () => {
    const load = deferred<string>();
    const stops: string[] = [];
    const handled: string[] = [];
    const ref = system.spawn(
      receive<string, Message>(
        'placeholder',
        (s, m) => {
          handled.push(`${s}:${m.type}`);
          return s;
        },
        {
          onStart: () => load.promise,
          onStop: (s) => stops.push(s),
        },
      ),
    );
    ref.tell({ type: 'queued' });
    const stopped = system.stop(ref);
    load.resolve('loaded');
    await stopped;
    expect(handled).toEqual(['loaded:queued']);
    expect(stops).toEqual(['loaded']);
  });

  it('a load that never ends is stopped hard after shutdownMs: no hook sees the placeholder, queued mail is a dead letter', async () => {
    const stops: string[] = [];
    const ref = system.spawn(
      receive<string, Message>('placeholder', (s) => s, {
        onStart: () => new Promise<string>(() => {}),
        onStop: (s) => stops.push(s),
      }),
      { shutdownMs: 50 },
    );
    ref.tell({ type: 'queued' });
    const stopped = system.stop(ref);
    await settle(system);
    clock.advance(50);
    await stopped;
    expect(stops).toEqual([]);
    expect(system.inspect(ref)?.status).toBe('stopped');
    expect(
      events.filter((e) => e.type === 'DeadLetter').map((e) => (e as { reason: string }).reason),
    ).toEqual(['stopped']);
  });
});
