// The factories' options report every bad field at once: for any set of bad fields, one field
// throws its own TypeError/RangeError, several throw one InvalidOptionsError listing each, in
// the order the factory checks them.
import {
  type Batch,
  batcher,
  circuitBreaker,
  countWindow,
  router,
  Topic,
  timeWindow,
  topic,
  type WindowAggregate,
} from '@troupe/actors';
import { type ActorRef, ActorSystem, InvalidOptionsError, receive } from '@troupe/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const ref = { path: '/user/target', tell() {} } as unknown as ActorRef<WindowAggregate & Batch<number>>;

/** A bad value for a field, and what its error must be. */
type Bad = readonly [
  field: string,
  value: unknown,
  error: ErrorConstructor | RangeErrorConstructor,
  message: RegExp,
];

interface Factory {
  readonly name: string;
  readonly make: (options: Record<string, unknown>) => unknown;
  readonly good: Record<string, unknown>;
  /** In the order the factory checks them. */
  readonly bad: readonly Bad[];
}

const factories: readonly Factory[] = [
  {
    name: 'router',
    make: (o) => router(o as never),
    good: { size: 2, worker: () => receive(null, (s) => s), routing: 'roundRobin' },
    bad: [
      ['size', 0, RangeError, /^router: size must be an integer >= 1; got 0$/],
      ['worker', 'w', TypeError, /^router: worker must be a function; got string$/],
      ['routing', 'random', TypeError, /^router: routing must be/],
      ['intensity', { maxRestarts: -1, withinMs: 10 }, RangeError, /intensity\.maxRestarts/],
      ['mailbox', { capacity: 0 }, RangeError, /worker-1.*mailbox\.capacity/],
    ],
  },
  {
    name: 'timeWindow',
    make: (o) => timeWindow(o as never),
    good: { sizeMs: 10, key: String, value: Number, target: ref },
    bad: [
      ['key', 'id', TypeError, /^timeWindow: key must be a function/],
      ['value', undefined, TypeError, /^timeWindow: value must be a function/],
      ['target', null, TypeError, /^timeWindow: target must be an actor ref$/],
      ['sizeMs', Number.NaN, RangeError, /^timeWindow: sizeMs must be a finite number > 0; got NaN$/],
    ],
  },
  {
    name: 'countWindow',
    make: (o) => countWindow(o as never),
    good: { size: 3, key: String, value: Number, target: ref },
    bad: [
      ['key', 1, TypeError, /^countWindow: key must be a function/],
      ['value', {}, TypeError, /^countWindow: value must be a function/],
      ['target', { tell() {} }, TypeError, /^countWindow: target must be an actor ref$/],
      ['size', 1.5, RangeError, /^countWindow: size must be an integer >= 1; got 1.5$/],
    ],
  },
  {
    name: 'batcher',
    make: (o) => batcher(o as never),
    good: { maxSize: 2, maxAgeMs: 10, target: ref },
    bad: [
      ['maxSize', -1, RangeError, /^batcher: maxSize must be an integer >= 1/],
      ['maxAgeMs', 0, RangeError, /^batcher: maxAgeMs must be a finite number > 0/],
      ['target', 'out', TypeError, /^batcher: target must be an actor ref$/],
    ],
  },
  {
    name: 'circuitBreaker',
    make: (o) => circuitBreaker(o as never),
    good: { call: async () => 1, failureThreshold: 1, resetTimeoutMs: 10 },
    bad: [
      ['call', 'nope', TypeError, /^circuitBreaker: call must be a function/],
      ['failureThreshold', 0, RangeError, /^circuitBreaker: failureThreshold must be/],
      ['resetTimeoutMs', Number.POSITIVE_INFINITY, RangeError, /^circuitBreaker: resetTimeoutMs must be/],
      ['halfOpenMaxCalls', 0, RangeError, /^circuitBreaker: halfOpenMaxCalls must be/],
      ['callTimeoutMs', -1, RangeError, /^circuitBreaker: callTimeoutMs must be/],
      ['events', {}, TypeError, /^circuitBreaker: events must be an actor ref$/],
    ],
  },
];

/** Builds with the given bad fields and returns what was thrown. */
function thrownBy(factory: Factory, bad: readonly Bad[]): unknown {
  const options = { ...factory.good, ...Object.fromEntries(bad.map(([field, value]) => [field, value])) };
  try {
    factory.make(options);
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectReported(thrown: unknown, owner: string, bad: readonly Bad[]): void {
  if (bad.length === 1) {
    const [[, , Err, message]] = bad as [Bad];
    expect(thrown).toBeInstanceOf(Err);
    expect(thrown).not.toBeInstanceOf(InvalidOptionsError);
    expect((thrown as Error).message).toMatch(message);
    return;
  }
  expect(thrown).toBeInstanceOf(InvalidOptionsError);
  const invalid = thrown as InvalidOptionsError;
  expect(invalid.owner).toBe(owner);
  expect(invalid.errors).toHaveLength(bad.length);
  bad.forEach(([, , Err, message], i) => {
    expect(invalid.errors[i]).toBeInstanceOf(Err);
    expect(invalid.errors[i]?.message).toMatch(message);
    expect(invalid.message).toContain(invalid.errors[i]?.message);
  });
}

describe('factory options', () => {
  it.each(factories.map((f) => [f.name, f] as const))('%s: good options build a behaviour', (_, factory) => {
    expect(thrownBy(factory, [])).toBeUndefined();
  });

  it.each(factories.map((f) => [f.name, f] as const))(
    '%s: options that are not an object are one TypeError',
    (name, factory) => {
      for (const options of [null, undefined, 42, 'x']) {
        expect(() => factory.make(options as never)).toThrow(TypeError);
        expect(() => factory.make(options as never)).toThrow(
          new RegExp(`^${name}: options must be an object`),
        );
      }
    },
  );

  it('property: any set of bad fields is reported at once, each field with its own error, in check order', () => {
    const cases = fc.oneof(
      ...factories.map((f) => fc.subarray([...f.bad], { minLength: 1 }).map((bad) => ({ factory: f, bad }))),
    );
    fc.assert(
      fc.property(cases, ({ factory, bad }) => {
        expectReported(thrownBy(factory, bad), factory.name, bad);
      }),
      { numRuns: 300 },
    );
  });

  it('a throwing option getter is reported as that field, with the others', () => {
    const options = {
      size: 0,
      get worker(): never {
        throw new TypeError('worker getter exploded');
      },
      routing: 'roundRobin',
    };
    const thrown = (() => {
      try {
        router(options as never);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    expect((thrown as InvalidOptionsError).errors.map((e) => e.message)).toEqual([
      'router: size must be an integer >= 1; got 0',
      'worker getter exploded',
    ]);
  });

  it('Topic.subscribe: a bad onFull and a bad filter are reported together, before anything is sent', async () => {
    const system = ActorSystem.start({ name: 'options' });
    try {
      const bus = system.spawn(topic<{ type: 'ev' }>());
      const sub = system.spawn(receive<null, { type: 'ev' }>(null, (s) => s));
      const error = await Topic.subscribe(bus, sub, { onFull: 'wait', filter: 'ev' } as never).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).errors.map((e) => e.message)).toEqual([
        "Topic.subscribe: onFull must be 'lag', 'block' or 'drop'; got wait",
        'Topic.subscribe: filter must be a predicate or an array of event types',
      ]);
      await expect(Topic.subscribe(bus, sub, { onFull: 'wait' } as never)).rejects.toThrow(
        /^Topic.subscribe: onFull must be/,
      );
      await expect(Topic.subscribe(bus, sub, null as never)).rejects.toThrow(TypeError);
      expect((await Topic.stats(bus)).subscriptions).toEqual([]);
    } finally {
      await system.shutdown();
    }
  });
});
