import { mpsc, type RecvResult, type SendResult } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../src/channel/bounded-queue.js';
import { collectGarbageUntil } from './gc.js';

/** Lets every queued microtask (and promise reaction chain) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>): { settled: boolean; value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  p.then((v) => {
    state.settled = true;
    state.value = v;
  });
  return state;
}

describe('mpsc: creation', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'capacity %s is a RangeError naming the value',
    (c) => {
      expect(() => mpsc(c)).toThrow(RangeError);
      expect(() => mpsc(c)).toThrow(String(c));
    },
  );

  it('a non-number capacity is a RangeError naming its type', () => {
    expect(() => mpsc('3' as unknown as number)).toThrow(/capacity must be an integer >= 1; got "3"/);
  });

  it('an unknown overflow policy is a TypeError naming it', () => {
    expect(() => mpsc(4, { overflow: 'dropAll' as never })).toThrow(TypeError);
    expect(() => mpsc(4, { overflow: 'dropAll' as never })).toThrow(/"dropAll"/);
  });

  it('a non-function onDrop is a TypeError', () => {
    expect(() => mpsc(4, { onDrop: 5 as never })).toThrow(TypeError);
  });

  it('storage grows lazily: an idle channel of capacity 1024 allocates no slots, then 8, doubling', () => {
    const queue = new BoundedQueue<number>(1024);
    expect(queue.allocated).toBe(0);
    queue.offer(0);
    expect(queue.allocated).toBe(8);
    for (let i = 1; i < 9; i++) queue.offer(i);
    expect(queue.allocated).toBe(16);
    for (let i = 9; i < 1024; i++) queue.offer(i);
    expect(queue.allocated).toBe(1024);
    expect(queue.offer(1024)).not.toBe(0);
  });
});

describe('mpsc: block policy (default)', () => {
  it('trySend enqueues until capacity, then returns full with the value handed back, not counted as dropped', () => {
    const [tx, rx] = mpsc<string>(2);
    expect(tx.trySend('a')).toEqual({ ok: true });
    expect(tx.trySend('b')).toEqual({ ok: true });
    expect(tx.trySend('c')).toEqual({ ok: false, reason: 'full', value: 'c' });
    expect(tx.dropped).toBe(0);
    expect(rx.length).toBe(2);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'a' });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'b' });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('send waits while full and resolves once the value is enqueued', async () => {
    const [tx, rx] = mpsc<number>(1);
    tx.trySend(1);
    const sent = track(tx.send(2));
    await settle();
    expect(sent.settled).toBe(false);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
    await settle();
    expect(sent.value).toEqual({ ok: true });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 2 });
  });

  it('waiting senders are served in FIFO order', async () => {
    const [tx, rx] = mpsc<number>(1);
    tx.trySend(0);
    const sends = [1, 2, 3].map((v) => tx.send(v));
    const received: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await rx.recv();
      if (r.ok) received.push(r.value);
    }
    expect(received).toEqual([0, 1, 2, 3]);
    expect(await Promise.all(sends)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
  });

  it('a freed slot goes to the oldest waiting sender before a later trySend', async () => {
    const [tx, rx] = mpsc<string>(1);
    tx.trySend('first');
    const waiting = tx.send('waiting');
    rx.tryRecv();
    expect(tx.trySend('late')).toEqual({ ok: false, reason: 'full', value: 'late' });
    expect(await waiting).toEqual({ ok: true });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'waiting' });
  });

  it('an aborted send did not enqueue and hands its value back', async () => {
    const [tx, rx] = mpsc<string>(1);
    tx.trySend('a');
    const controller = new AbortController();
    const pending = tx.send('b', { signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, reason: 'aborted', value: 'b' });
    rx.tryRecv();
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('a send with an already aborted signal returns aborted even when there is room', async () => {
    const [tx, rx] = mpsc<string>(4);
    expect(await tx.send('a', { signal: AbortSignal.abort() })).toEqual({
      ok: false,
      reason: 'aborted',
      value: 'a',
    });
    expect(rx.length).toBe(0);
  });

  it('an aborted waiter leaves the queue: the next waiter takes the slot', async () => {
    const [tx, rx] = mpsc<string>(1);
    tx.trySend('a');
    const controller = new AbortController();
    const aborted = tx.send('b', { signal: controller.signal });
    const next = tx.send('c');
    controller.abort();
    rx.tryRecv();
    expect(await aborted).toEqual({ ok: false, reason: 'aborted', value: 'b' });
    expect(await next).toEqual({ ok: true });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'c' });
  });
});

describe('mpsc: dropping policies', () => {
  it('dropNewest refuses the arriving value, counts it and passes it to onDrop', async () => {
    const dropped: number[] = [];
    const [tx, rx] = mpsc<number>(2, { overflow: 'dropNewest', onDrop: (v) => dropped.push(v) });
    tx.trySend(1);
    tx.trySend(2);
    expect(tx.trySend(3)).toEqual({ ok: false, reason: 'dropped', value: 3 });
    expect(await tx.send(4)).toEqual({ ok: false, reason: 'dropped', value: 4 });
    expect(dropped).toEqual([3, 4]);
    expect(rx.dropped).toBe(2);
    expect([rx.tryRecv(), rx.tryRecv()]).toEqual([
      { ok: true, value: 1 },
      { ok: true, value: 2 },
    ]);
  });

  it('dropOldest evicts the oldest to make room (a sliding window), counting each eviction', async () => {
    const dropped: number[] = [];
    const [tx, rx] = mpsc<number>(2, { overflow: 'dropOldest', onDrop: (v) => dropped.push(v) });
    for (const v of [1, 2, 3]) expect(tx.trySend(v)).toEqual({ ok: true });
    expect(await tx.send(4)).toEqual({ ok: true });
    expect(dropped).toEqual([1, 2]);
    expect(tx.dropped).toBe(2);
    expect([rx.tryRecv(), rx.tryRecv()]).toEqual([
      { ok: true, value: 3 },
      { ok: true, value: 4 },
    ]);
  });

  it('latest keeps only the newest value whatever the capacity', () => {
    const dropped: string[] = [];
    const [tx, rx] = mpsc<string>(16, { overflow: 'latest', onDrop: (v) => dropped.push(v) });
    for (const v of ['a', 'b', 'c']) expect(tx.trySend(v)).toEqual({ ok: true });
    expect(rx.length).toBe(1);
    expect(dropped).toEqual(['a', 'b']);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'c' });
  });

  it('a waiting receiver takes the value directly under every policy', async () => {
    for (const overflow of ['block', 'dropNewest', 'dropOldest', 'latest'] as const) {
      const [tx, rx] = mpsc<number>(1, { overflow });
      const pending = rx.recv();
      expect(tx.trySend(7)).toEqual({ ok: true });
      expect(await pending).toEqual({ ok: true, value: 7 });
      expect(rx.dropped).toBe(0);
    }
  });
});

describe('mpsc: receiving', () => {
  it('recv waits while empty and resolves with the next value sent', async () => {
    const [tx, rx] = mpsc<number>(4);
    const pending = track(rx.recv());
    await settle();
    expect(pending.settled).toBe(false);
    tx.trySend(42);
    await settle();
    expect(pending.value).toEqual({ ok: true, value: 42 });
  });

  it('several pending recv calls are served in call order', async () => {
    const [tx, rx] = mpsc<number>(4);
    const first = rx.recv();
    const second = rx.recv();
    tx.trySend(1);
    tx.trySend(2);
    expect(await first).toEqual({ ok: true, value: 1 });
    expect(await second).toEqual({ ok: true, value: 2 });
  });

  it('an aborted recv consumes nothing', async () => {
    const [tx, rx] = mpsc<number>(4);
    const controller = new AbortController();
    const pending = rx.recv({ signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, reason: 'aborted' });
    tx.trySend(1);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
  });

  it('the receiver is an async iterable that ends after close and drain', async () => {
    const [tx, rx] = mpsc<number>(8);
    for (const v of [1, 2, 3]) tx.trySend(v);
    tx.close();
    const seen: number[] = [];
    for await (const v of rx) seen.push(v);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('leaving a for-await loop early closes the channel', async () => {
    const [tx, rx] = mpsc<number>(8);
    for (const v of [1, 2, 3]) tx.trySend(v);
    for await (const v of rx) if (v === 1) break;
    expect(tx.isClosed).toBe(true);
    expect(tx.trySend(4)).toEqual({ ok: false, reason: 'closed', value: 4 });
  });
});

describe('mpsc: closing', () => {
  it('after rx.close() sends return closed with the value, buffered values stay receivable, then closed', async () => {
    const [tx, rx] = mpsc<string>(4);
    tx.trySend('a');
    rx.close();
    expect(tx.isClosed).toBe(true);
    expect(tx.trySend('b')).toEqual({ ok: false, reason: 'closed', value: 'b' });
    expect(await tx.send('c')).toEqual({ ok: false, reason: 'closed', value: 'c' });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'a' });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(await rx.recv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('the channel closes only when every sender clone is closed', async () => {
    const [tx, rx] = mpsc<number>(4);
    const tx2 = tx.clone();
    tx.close();
    tx.close(); // idempotent: must not count twice
    expect(rx.isClosed).toBe(false);
    expect(tx2.trySend(1)).toEqual({ ok: true });
    tx2.close();
    expect(rx.isClosed).toBe(true);
    expect(await rx.recv()).toEqual({ ok: true, value: 1 });
    expect(await rx.recv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('a closed sender hands values back as closed even while other clones keep the channel open', async () => {
    const [tx, rx] = mpsc<number>(4);
    const tx2 = tx.clone();
    tx.close();
    expect(tx.trySend(1)).toEqual({ ok: false, reason: 'closed', value: 1 });
    expect(await tx.send(2)).toEqual({ ok: false, reason: 'closed', value: 2 });
    expect(tx2.trySend(3)).toEqual({ ok: true });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 3 });
  });

  it('cloning a closed sender is a TypeError', () => {
    const [tx] = mpsc<number>(1);
    tx.close();
    expect(() => tx.clone()).toThrow(TypeError);
  });

  it('closing wakes waiting senders with their value and waiting receivers with closed', async () => {
    const [tx, rx] = mpsc<number>(1);
    tx.trySend(1);
    const blocked: Promise<SendResult<number>>[] = [tx.send(2), tx.send(3)];
    rx.close();
    expect(await Promise.all(blocked)).toEqual([
      { ok: false, reason: 'closed', value: 2 },
      { ok: false, reason: 'closed', value: 3 },
    ]);

    const [tx2, rx2] = mpsc<number>(1);
    const waiting: Promise<RecvResult<number>> = rx2.recv();
    tx2.close();
    expect(await waiting).toEqual({ ok: false, reason: 'closed' });
  });

  it('a receiver dropped without close closes the channel, so blocked senders do not wait forever', async () => {
    const senderOnly = () => mpsc<number>(1)[0];
    const tx = senderOnly();
    tx.trySend(1);
    const blocked = tx.send(2);
    await collectGarbageUntil(() => tx.isClosed);
    expect(await blocked).toEqual({ ok: false, reason: 'closed', value: 2 });
  });

  it('senders dropped without close close the channel, so the receiver does not wait forever', async () => {
    const receiverOnly = () => {
      const [tx, rx] = mpsc<number>(1);
      tx.trySend(1);
      return rx;
    };
    const rx = receiverOnly();
    const drained = await rx.recv();
    expect(drained).toEqual({ ok: true, value: 1 });
    const pending = rx.recv();
    await collectGarbageUntil(() => rx.isClosed);
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
  });
});
