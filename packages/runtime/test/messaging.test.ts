import {
  type ActorRef,
  ActorStoppedError,
  ActorSystem,
  type DeadLetter,
  type Message,
  receive,
  type SystemEvent,
} from '@troupe/runtime';
import { settle, TestProbe } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Num = { type: 'n'; n: number };
let system: ActorSystem;
let deadLetters: DeadLetter[];

beforeEach(() => {
  system = ActorSystem.start({ name: 'messaging' });
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
});

afterEach(async () => {
  await system.shutdown();
});

/** An actor that records every n it handles, optionally waiting on a gate first. */
function recorder(seen: number[], gate?: { promise: Promise<void> }) {
  return receive<null, Num>(null, async (s, m) => {
    if (gate !== undefined) await gate.promise;
    seen.push(m.n);
    return s;
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('tell', () => {
  it('messages from one sender are processed one at a time, in order', async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const ref = system.spawn(
      receive<null, Num>(null, async (s, m) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        seen.push(m.n);
        inFlight--;
        return s;
      }),
    );
    for (let n = 0; n < 100; n++) ref.tell({ type: 'n', n });
    await settle(system);
    expect(seen).toEqual([...Array(100).keys()]);
    expect(maxInFlight).toBe(1);
  });

  it('to a full mailbox under block becomes a mailboxFull dead letter, counted', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const ref = system.spawn(recorder(seen, gate), { name: 'slow', mailbox: { capacity: 2 } });
    ref.tell({ type: 'n', n: 0 }); // taken at once, handler waits on the gate
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    ref.tell({ type: 'n', n: 2 });
    ref.tell({ type: 'n', n: 3 }); // mailbox holds 1 and 2: this one cannot be queued
    expect(deadLetters).toEqual([
      { type: 'DeadLetter', reason: 'mailboxFull', message: { type: 'n', n: 3 }, recipient: '/user/slow' },
    ]);
    gate.resolve();
    await settle(system);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('under dropOldest the evicted message is a dropped dead letter', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const ref = system.spawn(recorder(seen, gate), {
      name: 'w',
      mailbox: { capacity: 2, overflow: 'dropOldest' },
    });
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    for (const n of [1, 2, 3]) ref.tell({ type: 'n', n });
    expect(deadLetters.map((d) => [d.reason, d.message])).toEqual([['dropped', { type: 'n', n: 1 }]]);
    gate.resolve();
    await settle(system);
    expect(seen).toEqual([0, 2, 3]);
  });

  it('under latest only the newest queued message survives', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const ref = system.spawn(recorder(seen, gate), { mailbox: { overflow: 'latest' } });
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    for (const n of [1, 2, 3]) ref.tell({ type: 'n', n });
    gate.resolve();
    await settle(system);
    expect(seen).toEqual([0, 3]);
    expect(deadLetters.map((d) => d.reason)).toEqual(['dropped', 'dropped']);
  });

  it('to a stopped actor becomes a stopped dead letter', async () => {
    const ref = system.spawn(recorder([]), { name: 'gone' });
    system.stop(ref);
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    expect(deadLetters).toEqual([
      { type: 'DeadLetter', reason: 'stopped', message: { type: 'n', n: 1 }, recipient: '/user/gone' },
    ]);
  });

  it.each([
    [null, 'null'],
    [42, 'a number'],
    ['inc', 'a string'],
    [{ kind: 'inc' }, 'an object without type'],
    [{ type: 7 }, 'a non-string type'],
  ])(
    'a malformed message (%s) from untyped code is an invalid dead letter, never a crash',
    async (bad, _what) => {
      const seen: number[] = [];
      const ref = system.spawn(recorder(seen), { name: 'strict' });
      (ref as ActorRef<Message>).tell(bad as unknown as Message);
      await settle(system);
      expect(seen).toEqual([]);
      expect(deadLetters).toEqual([
        { type: 'DeadLetter', reason: 'invalid', message: bad, recipient: '/user/strict' },
      ]);
    },
  );

  it('counts every dead letter on the system', async () => {
    const ref = system.spawn(recorder([]));
    system.stop(ref);
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    ref.tell({ type: 'n', n: 2 });
    expect(system.deadLetters).toBe(2);
  });
});

describe('trySend and send', () => {
  it('trySend queues or hands the message back with the reason, without a dead letter', async () => {
    const gate = deferred();
    const ref = system.spawn(recorder([], gate), { mailbox: { capacity: 1 } });
    expect(ref.trySend({ type: 'n', n: 0 })).toEqual({ ok: true });
    await settle(system);
    expect(ref.trySend({ type: 'n', n: 1 })).toEqual({ ok: true });
    expect(ref.trySend({ type: 'n', n: 2 })).toEqual({
      ok: false,
      reason: 'full',
      value: { type: 'n', n: 2 },
    });
    system.stop(ref);
    gate.resolve();
    await settle(system);
    expect(ref.trySend({ type: 'n', n: 3 })).toEqual({
      ok: false,
      reason: 'closed',
      value: { type: 'n', n: 3 },
    });
    expect(deadLetters).toEqual([]); // n=1 was still queued: the graceful stop handled it
  });

  it('trySend and send throw/reject TypeError on a malformed message', async () => {
    const ref = system.spawn(recorder([])) as ActorRef<Message>;
    expect(() => ref.trySend(5 as unknown as Message)).toThrow(TypeError);
    await expect(ref.send(null as unknown as Message)).rejects.toThrow(TypeError);
  });

  it('send waits for room (backpressure) and resolves once queued', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const ref = system.spawn(recorder(seen, gate), { mailbox: { capacity: 1 } });
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    let queued = false;
    const sending = ref.send({ type: 'n', n: 2 }).then(() => {
      queued = true;
    });
    await settle(system);
    expect(queued).toBe(false);
    gate.resolve();
    await sending;
    await settle(system);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('send rejects with ActorStoppedError when the actor is stopped, or stops while the sender waits', async () => {
    const gate = deferred();
    const ref = system.spawn(recorder([], gate), { name: 'busy', mailbox: { capacity: 1 } });
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    const waiting = ref.send({ type: 'n', n: 2 });
    system.stop(ref);
    gate.resolve();
    await expect(waiting).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(ref.send({ type: 'n', n: 3 })).rejects.toThrow('actor /user/busy is stopped');
  });

  it('an aborted send rejects with the signal reason and queues nothing', async () => {
    const gate = deferred();
    const seen: number[] = [];
    const ref = system.spawn(recorder(seen, gate), { mailbox: { capacity: 1 } });
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    ref.tell({ type: 'n', n: 1 });
    const controller = new AbortController();
    const waiting = ref.send({ type: 'n', n: 2 }, { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    gate.resolve();
    await settle(system);
    expect(seen).toEqual([0, 1]);
  });
});

describe('backpressure through a pipeline (ctx.send)', () => {
  it('a slow last stage slows the producer; nothing is dropped, order is kept', async () => {
    const gate = { open: deferred() };
    const sink: number[] = [];
    const slow = system.spawn(
      receive<null, Num>(null, async (s, m) => {
        await gate.open.promise;
        sink.push(m.n);
        return s;
      }),
      { name: 'sink', mailbox: { capacity: 2 } },
    );
    const middle = system.spawn(
      receive<null, Num>(null, (s, m, ctx) => {
        ctx.send(slow, { type: 'n', n: m.n * 10 });
        return s;
      }),
      { name: 'middle', mailbox: { capacity: 2 } },
    );
    let accepted = 0;
    const producer = (async () => {
      for (let n = 0; n < 20; n++) {
        await middle.send({ type: 'n', n });
        accepted++;
      }
    })();
    await settle(system);
    // sink: 1 in its handler + 2 queued; middle: 1 waiting to forward + 2 queued; producer: 1 waiting.
    expect(accepted).toBeLessThan(8);
    gate.open.resolve();
    await producer;
    await settle(system);
    expect(sink).toEqual([...Array(20).keys()].map((n) => n * 10));
    expect(deadLetters).toEqual([]);
  });

  it('ctx.send to a stopped actor is a stopped dead letter, not a failure', async () => {
    const target = system.spawn(recorder([]), { name: 'target' });
    system.stop(target);
    await settle(system);
    const probe = new TestProbe<Num>(system);
    const forwarder = system.spawn(
      receive<null, Num>(null, (s, m, ctx) => {
        ctx.send(target, m);
        ctx.send(probe.ref, m);
        return s;
      }),
    );
    forwarder.tell({ type: 'n', n: 7 });
    expect(await probe.expectMessage()).toEqual({ type: 'n', n: 7 });
    expect(deadLetters.map((d) => [d.reason, d.recipient])).toEqual([['stopped', '/user/target']]);
  });
});

describe('ctx.unhandled', () => {
  it('turns the current message into an unhandled dead letter, counted as unhandled, not processed', async () => {
    const ref = system.spawn(
      receive<null, Num>(null, async (s, m, ctx) => {
        if (m.n < 0) ctx.unhandled();
        return s;
      }),
      { name: 'picky' },
    );
    ref.tell({ type: 'n', n: -1 });
    ref.tell({ type: 'n', n: 1 });
    await settle(system);
    expect(deadLetters).toEqual([
      { type: 'DeadLetter', reason: 'unhandled', message: { type: 'n', n: -1 }, recipient: '/user/picky' },
    ]);
    expect(system.inspect(ref)).toMatchObject({ received: 2, processed: 1, unhandled: 1 });
  });
});

describe('MessageDropped', () => {
  it('every message a full mailbox turns away or its policy discards is published with the policy, then dead-lettered', async () => {
    const events: Extract<SystemEvent, { type: 'MessageDropped' | 'DeadLetter' }>[] = [];
    system.events.subscribe((e) => {
      if (e.type === 'MessageDropped' || e.type === 'DeadLetter') events.push(e);
    });
    const gate = deferred();
    const strict = system.spawn(recorder([], gate), { name: 'strict', mailbox: { capacity: 1 } });
    const sliding = system.spawn(recorder([], gate), {
      name: 'sliding',
      mailbox: { capacity: 1, overflow: 'dropOldest' },
    });
    for (const ref of [strict, sliding]) ref.tell({ type: 'n', n: 0 });
    await settle(system);
    for (const ref of [strict, sliding]) for (const n of [1, 2]) ref.tell({ type: 'n', n });
    expect(
      events.map((e) => [e.type, e.type === 'MessageDropped' ? e.policy : e.reason, (e.message as Num).n]),
    ).toEqual([
      ['MessageDropped', 'block', 2],
      ['DeadLetter', 'mailboxFull', 2],
      ['MessageDropped', 'dropOldest', 1],
      ['DeadLetter', 'dropped', 1],
    ]);
    gate.resolve();
  });
});

describe('counters', () => {
  it('received, processed, failed, unhandled, dropped and mailbox depth add up', async () => {
    let release!: () => void;
    const ref = system.spawn(
      receive<null, Num>(null, async (s, m) => {
        if (m.n === 0) {
          await new Promise<void>((r) => {
            release = r;
          });
        }
        if (m.n === 3) throw new Error('three');
        return s;
      }),
      { name: 'counted', mailbox: { capacity: 3 } },
    );
    ref.tell({ type: 'n', n: 0 });
    await settle(system);
    for (const n of [1, 2, 3, 4]) ref.tell({ type: 'n', n }); // 4 does not fit: mailboxFull
    expect(system.inspect(ref)).toMatchObject({
      path: '/user/counted',
      status: 'running',
      received: 4,
      processed: 0,
      dropped: 1,
      mailboxDepth: 3,
    });
    release();
    await settle(system);
    expect(system.inspect(ref)).toMatchObject({
      status: 'stopped',
      received: 4,
      processed: 3,
      failed: 1,
      mailboxDepth: 0,
    });
  });
});
