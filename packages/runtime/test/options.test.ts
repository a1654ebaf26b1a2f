import {
  ActorSystem,
  InvalidOptionsError,
  type Message,
  OptionChecks,
  receive,
  supervisor,
} from '@troupe/runtime';
import { afterEach, describe, expect, it } from 'vitest';

const idle = receive<null, Message>(null, (s) => s);
let system: ActorSystem | undefined;

afterEach(async () => {
  await system?.shutdown();
  system = undefined;
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('options: every bad field is reported at once', () => {
  it('OptionChecks: nothing for none, the error itself for one, InvalidOptionsError for several', () => {
    const none = new OptionChecks('f');
    expect(none.run(() => 1, 0)).toBe(1);
    expect(() => none.done()).not.toThrow();

    const one = new OptionChecks('f');
    const range = new RangeError('a must be >= 1');
    expect(
      one.run(() => {
        throw range;
      }, 7),
    ).toBe(7);
    expect(thrown(() => one.done())).toBe(range);

    const two = new OptionChecks('f');
    two.run(() => {
      throw new RangeError('a must be >= 1');
    }, 0);
    two.run(() => {
      throw 'b is wrong'; // not an Error: still reported
    }, 0);
    const error = thrown(() => two.done());
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('f: 2 bad options: a must be >= 1; b is wrong');
    expect((error as InvalidOptionsError).errors.map((e) => e.constructor)).toEqual([RangeError, TypeError]);
  });

  it('spawn names every bad field: name, mailbox capacity and overflow, throughput, shutdownMs', () => {
    system = ActorSystem.start({ name: 'options' });
    const s = system;
    const error = thrown(() =>
      s.spawn(idle, {
        name: '$bad',
        mailbox: { capacity: 0, overflow: 'sideways' as never },
        throughput: -1,
        shutdownMs: Number.NaN,
      }),
    ) as InvalidOptionsError;
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error.errors).toHaveLength(5);
    for (const field of ['actor name', 'mailbox.capacity', 'overflow', 'throughput', 'shutdownMs'])
      expect(error.message).toContain(field);
    // Nothing was spawned.
    expect(s.tree().children.find((c) => c.path === '/user')?.children ?? []).toEqual([]);
  });

  it('one bad spawn field is still its own RangeError, as before', () => {
    system = ActorSystem.start({ name: 'options' });
    const s = system;
    expect(() => s.spawn(idle, { throughput: 0 })).toThrow(RangeError);
  });

  it('ActorSystem.start names every bad field', () => {
    const error = thrown(() =>
      ActorSystem.start({
        name: 'x',
        askTimeoutMs: -1,
        clock: {} as never,
        ids: 3 as never,
        logger: {} as never,
        onEscalation: 'panic' as never,
      }),
    ) as InvalidOptionsError;
    expect(error).toBeInstanceOf(InvalidOptionsError);
    for (const field of ['askTimeoutMs', 'clock', 'ids', 'logger', 'onEscalation'])
      expect(error.message).toContain(field);
  });

  it('a supervisor names every bad field of its own and of its child specs before any child starts', () => {
    const error = thrown(() =>
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: -1, withinMs: 1000 },
        children: [
          { id: 'a', behavior: idle, restart: 'sometimes' as never, shutdownMs: -5 },
          { id: 'b', behavior: idle },
          { id: 'b', behavior: idle },
        ],
      }),
    ) as InvalidOptionsError;
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error.message).toContain('restart must be');
    expect(error.message).toContain('shutdownMs must be');
    expect(error.message).toContain('intensity.maxRestarts');
    expect(error.message).toContain('duplicate id');
    expect(error.errors).toHaveLength(4);
  });
});
