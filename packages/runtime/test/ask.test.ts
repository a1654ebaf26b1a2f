import {
  type ActorRef,
  ActorStoppedError,
  ActorSystem,
  AskTimeoutError,
  type DeadLetter,
  MessageDroppedError,
  receive,
} from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Pong = { type: 'pong'; n: number };
type Ping = { type: 'ping'; n: number; replyTo: ActorRef<Pong> } | { type: 'hold'; replyTo: ActorRef<Pong> };

let system: ActorSystem;
let clock: VirtualClock;
let deadLetters: DeadLetter[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'ask', clock, askTimeoutMs: 1000 });
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
});

afterEach(async () => {
  await system.shutdown();
});

/** Replies to ping at once; keeps `hold` requests to answer later via `release`. */
function server(held: ActorRef<Pong>[]) {
  return receive<null, Ping>(null, (s, m, ctx) => {
    if (m.type === 'ping') ctx.reply(m.replyTo, { type: 'pong', n: m.n });
    else held.push(m.replyTo);
    return s;
  });
}

describe('ask', () => {
  it('resolves with the reply', async () => {
    const ref = system.spawn(server([]));
    await expect(ref.ask<Pong>((replyTo) => ({ type: 'ping', n: 7, replyTo }))).resolves.toEqual({
      type: 'pong',
      n: 7,
    });
  });

  it('rejects with AskTimeoutError after timeoutMs; a later reply is a lateReply dead letter', async () => {
    const held: ActorRef<Pong>[] = [];
    const ref = system.spawn(server(held), { name: 'slow' });
    const pending = ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }), { timeoutMs: 50 });
    const outcome = pending.catch((e: unknown) => e);
    await settle(system);
    clock.advance(49);
    await settle(system);
    clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as AskTimeoutError).message).toBe('ask to /user/slow timed out after 50 ms');
    held[0]?.tell({ type: 'pong', n: 1 });
    expect(deadLetters).toEqual([
      expect.objectContaining({ reason: 'lateReply', message: { type: 'pong', n: 1 } }),
    ]);
  });

  it('uses the system default timeout when none is given', async () => {
    const ref = system.spawn(server([]));
    const outcome = ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo })).catch((e: unknown) => e);
    await settle(system);
    clock.advance(999);
    await settle(system);
    clock.advance(1);
    expect(await outcome).toBeInstanceOf(AskTimeoutError);
  });

  it('asks with different timeouts each expire at their own time', async () => {
    const ref = system.spawn(server([]));
    const order: number[] = [];
    const long = ref
      .ask((replyTo: ActorRef<Pong>) => ({ type: 'hold', replyTo }), { timeoutMs: 30 })
      .catch(() => order.push(30));
    const short = ref
      .ask((replyTo: ActorRef<Pong>) => ({ type: 'hold', replyTo }), { timeoutMs: 10 })
      .catch(() => order.push(10));
    await settle(system);
    clock.advance(10);
    await short;
    expect(order).toEqual([10]);
    clock.advance(20);
    await long;
    expect(order).toEqual([10, 30]);
  });

  it('only the first reply counts; a second one is a lateReply dead letter', async () => {
    const ref = system.spawn(
      receive<null, Ping>(null, (s, m) => {
        m.replyTo.tell({ type: 'pong', n: 1 });
        m.replyTo.tell({ type: 'pong', n: 2 });
        return s;
      }),
    );
    await expect(ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }))).resolves.toEqual({
      type: 'pong',
      n: 1,
    });
    expect(deadLetters.map((d) => d.reason)).toEqual(['lateReply']);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    'timeoutMs %s rejects with RangeError',
    async (timeoutMs) => {
      const ref = system.spawn(server([]));
      await expect(
        ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }), { timeoutMs }),
      ).rejects.toBeInstanceOf(RangeError);
    },
  );

  it('asking a stopped actor rejects with ActorStoppedError', async () => {
    const ref = system.spawn(server([]));
    system.stop(ref);
    await settle(system);
    await expect(ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }))).rejects.toBeInstanceOf(
      ActorStoppedError,
    );
  });

  it('a request refused by a dropNewest mailbox rejects with MessageDroppedError', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const ref = system.spawn(
      receive<null, Ping>(null, async (s) => {
        await gate;
        return s;
      }),
      { mailbox: { capacity: 1, overflow: 'dropNewest' } },
    );
    ref.tell({ type: 'hold', replyTo: system.spawn(receive<null, Pong>(null, (s) => s)) });
    await settle(system);
    ref.tell({ type: 'hold', replyTo: system.spawn(receive<null, Pong>(null, (s) => s)) });
    await expect(ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }))).rejects.toBeInstanceOf(
      MessageDroppedError,
    );
    release();
  });

  it('a request that waits for room in a full block mailbox still gets its reply', async () => {
    let release!: () => void;
    let first = true;
    const ref = system.spawn(
      receive<null, Ping>(null, async (s, m, ctx) => {
        if (first) {
          first = false;
          await new Promise<void>((r) => {
            release = r;
          });
        }
        if (m.type === 'ping') ctx.reply(m.replyTo, { type: 'pong', n: m.n });
        return s;
      }),
      { mailbox: { capacity: 1 } },
    );
    const sink = system.spawn(receive<null, Pong>(null, (s) => s));
    ref.tell({ type: 'hold', replyTo: sink });
    await settle(system);
    ref.tell({ type: 'hold', replyTo: sink });
    const reply = ref.ask<Pong>((replyTo) => ({ type: 'ping', n: 3, replyTo }));
    release();
    await expect(reply).resolves.toEqual({ type: 'pong', n: 3 });
  });

  it('a build function that throws rejects the ask with that error', async () => {
    const ref = system.spawn(server([]));
    await expect(
      ref.ask<Pong>(() => {
        throw new Error('cannot build');
      }),
    ).rejects.toThrow('cannot build');
  });

  it('the reply ref cannot itself be asked', async () => {
    const ref = system.spawn(
      receive<null, Ping>(null, (s, m) => {
        m.replyTo
          .ask(() => ({ type: 'pong', n: 0 }))
          .catch((e: unknown) => m.replyTo.tell({ type: 'pong', n: e instanceof TypeError ? 1 : 0 }));
        return s;
      }),
    );
    await expect(ref.ask<Pong>((replyTo) => ({ type: 'hold', replyTo }))).resolves.toEqual({
      type: 'pong',
      n: 1,
    });
  });
});
