import {
  type CallResult,
  CallTimeoutError,
  CircuitBreaker,
  type CircuitBreakerMsg,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type CircuitStateChanged,
  circuitBreaker,
} from '@troupe/actors';
import { type ActorRef, ActorSystem, type DeadLetter } from '@troupe/runtime';
import { settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { circuitBreakerMachine, SETTLED } from '../src/circuit-breaker/machine.js';

/** One run of the guarded operation, settled by the test. */
interface Op {
  readonly request: number;
  resolve(value: string): void;
  reject(error: Error): void;
}

let system: ActorSystem;
let clock: VirtualClock;
let ops: Op[];
let deadLetters: DeadLetter[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'breakers', clock });
  ops = [];
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const operation = (request: number) =>
  new Promise<string>((resolve, reject) => {
    ops.push({ request, resolve, reject });
  });

function spawnBreaker(options: Partial<CircuitBreakerOptions<number, string>> = {}) {
  const events = new TestProbe<CircuitStateChanged>(system, 'events');
  const ref = system.spawn(
    circuitBreaker<number, string>({
      call: operation,
      failureThreshold: 2,
      resetTimeoutMs: 1000,
      events: events.ref,
      ...options,
    }),
    { name: 'breaker' },
  );
  return { ref, events };
}

type Outcome = { ok: true; value: string } | { ok: false; error: unknown };

/** Starts a call and lets the breaker take it; `outcome` settles with the call. */
async function call(ref: ActorRef<CircuitBreakerMsg<number, string>>, request: number) {
  const outcome: Promise<Outcome> = CircuitBreaker.call(ref, request).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
  await settle(system);
  return { outcome };
}

/** Runs a call to its outcome (for calls the breaker answers without running the operation). */
async function callThrough(ref: ActorRef<CircuitBreakerMsg<number, string>>, request: number) {
  return (await call(ref, request)).outcome;
}

/** Runs a call whose operation fails, to its outcome. */
async function failingCall(ref: ActorRef<CircuitBreakerMsg<number, string>>, request: number) {
  const { outcome } = await call(ref, request);
  ops.at(-1)?.reject(new Error(`boom ${request}`));
  return outcome;
}

async function openBreaker(ref: ActorRef<CircuitBreakerMsg<number, string>>) {
  await failingCall(ref, 1);
  await failingCall(ref, 2);
}

describe('circuitBreaker: closed', () => {
  it('runs the operation and replies with its value', async () => {
    const { ref } = spawnBreaker();
    const { outcome: pending } = await call(ref, 7);
    expect(ops.map((o) => o.request)).toEqual([7]);
    ops[0]?.resolve('seven');
    expect(await pending).toEqual({ ok: true, value: 'seven' });
  });

  it("replies with the operation's own error on a failure below the threshold", async () => {
    const { ref } = spawnBreaker({ failureThreshold: 3 });
    const result = await failingCall(ref, 1);
    expect(result).toEqual({ ok: false, error: new Error('boom 1') });
  });

  it('opens after failureThreshold consecutive failures', async () => {
    const { ref, events } = spawnBreaker({ failureThreshold: 3 });
    await failingCall(ref, 1);
    await failingCall(ref, 2);
    await events.expectNoMessage();
    await failingCall(ref, 3);
    expect(await events.expectMessage()).toEqual({
      type: 'CircuitStateChanged',
      breaker: '/user/breaker',
      from: 'closed',
      to: 'open',
    });
  });

  it('a success resets the consecutive failure count', async () => {
    const { ref, events } = spawnBreaker({ failureThreshold: 2 });
    await failingCall(ref, 1);
    const { outcome: ok } = await call(ref, 2);
    ops[1]?.resolve('fine');
    await ok;
    await failingCall(ref, 3);
    await events.expectNoMessage();
    await call(ref, 4);
    expect(ops).toHaveLength(4); // still closed: the operation runs
  });

  it('a synchronous throw from call is a failure of the call, not of the actor', async () => {
    const ref = system.spawn(
      circuitBreaker<number, string>({
        call: () => {
          throw new Error('sync');
        },
        failureThreshold: 5,
        resetTimeoutMs: 1000,
      }),
    );
    await expect(CircuitBreaker.call(ref, 1)).rejects.toThrow('sync');
    expect(system.inspect(ref)?.status).toBe('running');
  });

  it('keeps serving calls while an operation is in flight, replying in settle order', async () => {
    const { ref } = spawnBreaker();
    const { outcome: slow } = await call(ref, 1);
    const { outcome: fast } = await call(ref, 2);
    expect(ops.map((o) => o.request)).toEqual([1, 2]);
    ops[1]?.resolve('fast');
    expect(await fast).toEqual({ ok: true, value: 'fast' });
    ops[0]?.resolve('slow');
    expect(await slow).toEqual({ ok: true, value: 'slow' });
  });
});

describe('circuitBreaker: open', () => {
  it('rejects calls at once with CircuitOpenError without running the operation', async () => {
    const { ref } = spawnBreaker();
    await openBreaker(ref);
    const result = await callThrough(ref, 3);
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ code: 'CIRCUIT_OPEN', path: '/user/breaker', state: 'open' });
    expect(ops).toHaveLength(2);
  });

  it('turns half-open after resetTimeoutMs on the clock, not before', async () => {
    const { ref, events } = spawnBreaker();
    await openBreaker(ref);
    await events.expectMessage();
    clock.advance(999);
    await events.expectNoMessage();
    expect((await callThrough(ref, 3)).ok).toBe(false);
    clock.advance(1);
    expect(await events.expectMessage()).toMatchObject({ from: 'open', to: 'halfOpen' });
  });

  it('late outcomes of calls started while closed do not move it', async () => {
    const { ref, events } = spawnBreaker();
    const { outcome: late } = await call(ref, 0); // in flight while the breaker opens
    await openBreaker(ref);
    await events.expectMessage();
    ops[0]?.reject(new Error('late'));
    expect(await late).toEqual({ ok: false, error: new Error('late') }); // still replied
    clock.advance(1000);
    expect(await events.expectMessage()).toMatchObject({ from: 'open', to: 'halfOpen' });
    await events.expectNoMessage();
  });
});

describe('circuitBreaker: half-open', () => {
  async function halfOpen(options: Partial<CircuitBreakerOptions<number, string>> = {}) {
    const spawned = spawnBreaker(options);
    await openBreaker(spawned.ref);
    clock.advance(1000);
    await settle(system);
    expect(spawned.events.messages.at(-1)).toMatchObject({ from: 'open', to: 'halfOpen' });
    return spawned;
  }

  it('admits halfOpenMaxCalls trials and rejects the rest fast', async () => {
    const { ref } = await halfOpen({ halfOpenMaxCalls: 2 });
    const { outcome: t1 } = await call(ref, 10);
    const { outcome: t2 } = await call(ref, 11);
    const { outcome: extra } = await call(ref, 12);
    expect(ops.map((o) => o.request)).toEqual([1, 2, 10, 11]);
    const { error } = (await extra) as { error: CircuitOpenError };
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error.state).toBe('halfOpen');
    ops[2]?.resolve('a');
    ops[3]?.resolve('b');
    expect(await t1).toEqual({ ok: true, value: 'a' });
    expect(await t2).toEqual({ ok: true, value: 'b' });
  });

  it('a trial success closes the circuit', async () => {
    const { ref, events } = await halfOpen();
    const { outcome: trial } = await call(ref, 10);
    ops[2]?.resolve('ok');
    await trial;
    expect(events.messages.at(-1)).toEqual({
      type: 'CircuitStateChanged',
      breaker: '/user/breaker',
      from: 'halfOpen',
      to: 'closed',
    });
    const { outcome: next } = await call(ref, 11);
    expect(ops).toHaveLength(4); // closed again: the operation runs
    ops[3]?.resolve('again');
    expect(await next).toEqual({ ok: true, value: 'again' });
  });

  it('a trial failure opens it again for another resetTimeoutMs', async () => {
    const { ref, events } = await halfOpen();
    await failingCall(ref, 10);
    expect(events.messages.at(-1)).toMatchObject({ from: 'halfOpen', to: 'open' });
    expect((await callThrough(ref, 11)).ok).toBe(false);
    expect(ops).toHaveLength(3);
    clock.advance(999);
    await settle(system);
    expect(events.messages.at(-1)).toMatchObject({ to: 'open' });
    clock.advance(1);
    await settle(system);
    expect(events.messages.at(-1)).toMatchObject({ from: 'open', to: 'halfOpen' });
  });

  it('callTimeoutMs fails a trial that never settles and frees the breaker', async () => {
    const { ref, events } = await halfOpen({ callTimeoutMs: 500 });
    const { outcome: hung } = await call(ref, 10);
    clock.advance(500);
    const result = await hung;
    expect(result.ok).toBe(false);
    expect((result as { error: unknown }).error).toBeInstanceOf(CallTimeoutError);
    await settle(system);
    expect(events.messages.at(-1)).toMatchObject({ from: 'halfOpen', to: 'open' });
    ops[2]?.resolve('too late'); // ignored: the call already failed
    await settle(system);
    expect(deadLetters).toEqual([]);
  });
});

describe('circuitBreaker: events, stop and options', () => {
  it('publishes every transition in order', async () => {
    const { ref, events } = spawnBreaker();
    await openBreaker(ref);
    clock.advance(1000);
    await settle(system);
    const { outcome: trial } = await call(ref, 3);
    ops[2]?.resolve('ok');
    await trial;
    await settle(system);
    expect(
      events.messages.map((m) => (m.type === 'CircuitStateChanged' ? `${m.from}->${m.to}` : m.type)),
    ).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->closed']);
  });

  it('tells an outcome straight to its caller once the breaker is stopped', async () => {
    const { ref } = spawnBreaker();
    const { outcome: pending } = await call(ref, 1);
    system.stop(ref);
    await settle(system);
    ops[0]?.resolve('after stop');
    expect(await pending).toEqual({ ok: true, value: 'after stop' });
  });

  it('accepts a raw ask with a call message and replies a CallResult', async () => {
    const { ref } = spawnBreaker();
    const reply = ref.ask<CallResult<string>>((replyTo) => ({ type: 'call', request: 5, replyTo }));
    await settle(system);
    ops[0]?.resolve('five');
    expect(await reply).toEqual({ type: 'callResult', ok: true, value: 'five' });
  });

  it.each([
    [{ failureThreshold: 0 }, RangeError, /failureThreshold/],
    [{ failureThreshold: 1.5 }, RangeError, /failureThreshold/],
    [{ resetTimeoutMs: 0 }, RangeError, /resetTimeoutMs/],
    [{ resetTimeoutMs: Number.NaN }, RangeError, /resetTimeoutMs/],
    [{ halfOpenMaxCalls: 0 }, RangeError, /halfOpenMaxCalls/],
    [{ callTimeoutMs: -1 }, RangeError, /callTimeoutMs/],
    [{ call: 'nope' }, TypeError, /call must be a function/],
    [{ events: {} }, TypeError, /events must be an actor ref/],
  ])('rejects bad options %o with a %o naming the field', (bad, Err, message) => {
    const options = { call: operation, failureThreshold: 1, resetTimeoutMs: 1, ...bad };
    expect(() => circuitBreaker(options as unknown as CircuitBreakerOptions<number, string>)).toThrow(Err);
    expect(() => circuitBreaker(options as unknown as CircuitBreakerOptions<number, string>)).toThrow(
      message,
    );
  });
});

describe('circuit breaker machine (pure transitions)', () => {
  const input = { failureThreshold: 2, resetTimeoutMs: 1000, halfOpenMaxCalls: 1 };
  const replyTo = { path: '/user/caller', tell() {} } as unknown as ActorRef<CallResult<unknown>>;
  const failure = { type: 'callResult', ok: false, error: new Error('x') } as const;
  const success = { type: 'callResult', ok: true, value: 1 } as const;

  it('starts closed and asks to start a call stamped with its epoch', () => {
    const [closed] = initialTransition(circuitBreakerMachine, input);
    expect(closed.value).toBe('closed');
    const [, actions] = transition(circuitBreakerMachine, closed, { type: 'call', request: 1, replyTo });
    expect(actions).toContainEqual(
      expect.objectContaining({
        type: 'startCall',
        params: { request: 1, replyTo, epoch: closed.context.epoch },
      }),
    );
  });

  it('counts failures of its epoch, ignores other epochs, and opens at the threshold', () => {
    let [s] = initialTransition(circuitBreakerMachine, input);
    const epoch = s.context.epoch;
    [s] = transition(circuitBreakerMachine, s, { type: SETTLED, epoch: epoch - 1, replyTo, result: failure });
    expect(s.context.failures).toBe(0);
    [s] = transition(circuitBreakerMachine, s, { type: SETTLED, epoch, replyTo, result: failure });
    expect(s.context.failures).toBe(1);
    const [opened, actions] = transition(circuitBreakerMachine, s, {
      type: SETTLED,
      epoch,
      replyTo,
      result: failure,
    });
    expect(opened.value).toBe('open');
    expect(opened.context.epoch).not.toBe(epoch);
    expect(actions.map((a) => a.type)).toEqual(expect.arrayContaining(['reply', 'notify']));
  });

  it('a half-open trial success closes it; the next closed epoch starts with no failures', () => {
    let [s] = initialTransition(circuitBreakerMachine, input);
    for (let i = 0; i < 2; i++)
      [s] = transition(circuitBreakerMachine, s, {
        type: SETTLED,
        epoch: s.context.epoch,
        replyTo,
        result: failure,
      });
    [s] = transition(circuitBreakerMachine, s, {
      type: 'xstate.after.resetTimeout.circuitBreaker.open',
    } as never);
    expect(s.value).toBe('halfOpen');
    [s] = transition(circuitBreakerMachine, s, { type: 'call', request: 1, replyTo });
    expect(s.context.trials).toBe(1);
    const [, rejected] = transition(circuitBreakerMachine, s, { type: 'call', request: 2, replyTo });
    expect(rejected).toContainEqual(
      expect.objectContaining({ type: 'reject', params: { replyTo, state: 'halfOpen' } }),
    );
    [s] = transition(circuitBreakerMachine, s, {
      type: SETTLED,
      epoch: s.context.epoch,
      replyTo,
      result: success,
    });
    expect(s.value).toBe('closed');
    expect(s.context.failures).toBe(0);
  });
});
