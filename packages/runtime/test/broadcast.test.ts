import { type BroadcastReceiver, broadcast } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { collectGarbageUntil } from './gc.js';

function drain<T>(rx: BroadcastReceiver<T>): unknown[] {
  const out: unknown[] = [];
  for (let r = rx.tryRecv(); !(!r.ok && (r.reason === 'empty' || r.reason === 'closed')); r = rx.tryRecv()) {
    out.push(r.ok ? r.value : r);
  }
  return out;
}

describe('broadcast: creation', () => {
  it.each([0, -3, 2.5, Number.NaN])('capacity %s is a RangeError naming the value', (c) => {
    expect(() => broadcast(c)).toThrow(RangeError);
    expect(() => broadcast(c)).toThrow(String(c));
  });
});

describe('broadcast: delivery', () => {
  it('every receiver sees every value sent after it subscribed, in order', () => {
    const [tx, early] = broadcast<number>(8);
    tx.send(1);
    const late = tx.subscribe();
    tx.send(2);
    tx.send(3);
    expect(drain(early)).toEqual([1, 2, 3]);
    expect(drain(late)).toEqual([2, 3]);
  });

  it('send returns the number of receivers; with none it returns 0 and keeps nothing', () => {
    const [tx, rx] = broadcast<string>(4);
    const rx2 = tx.subscribe();
    expect(tx.send('a')).toBe(2);
    rx.close();
    expect(tx.send('b')).toBe(1);
    rx2.close();
    expect(tx.receiverCount).toBe(0);
    expect(tx.send('c')).toBe(0);
    const rx3 = tx.subscribe();
    expect(rx3.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('recv waits while caught up and resolves with the next value sent', async () => {
    const [tx, rx] = broadcast<number>(2);
    const rx2 = tx.subscribe();
    const a = rx.recv();
    const b = rx2.recv();
    tx.send(9);
    expect(await a).toEqual({ ok: true, value: 9 });
    expect(await b).toEqual({ ok: true, value: 9 });
  });

  it('an aborted recv consumes nothing', async () => {
    const [tx, rx] = broadcast<number>(2);
    const controller = new AbortController();
    const pending = rx.recv({ signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, reason: 'aborted' });
    tx.send(1);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
  });

  it('resubscribe starts at the newest position', () => {
    const [tx, rx] = broadcast<number>(4);
    tx.send(1);
    const again = rx.resubscribe();
    tx.send(2);
    expect(drain(again)).toEqual([2]);
    expect(drain(rx)).toEqual([1, 2]);
  });
});

describe('broadcast: lag', () => {
  it('a receiver more than capacity behind gets lagged with the count, stays subscribed, then gets the oldest value held', () => {
    const [tx, rx] = broadcast<number>(2);
    for (const v of [1, 2, 3, 4, 5]) tx.send(v);
    expect(rx.length).toBe(5);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'lagged', skipped: 3 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 4 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 5 });
    expect(rx.skipped).toBe(3);
    tx.send(6);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 6 });
  });

  it('a receiver exactly capacity behind has not lagged', () => {
    const [tx, rx] = broadcast<number>(3);
    for (const v of [1, 2, 3]) tx.send(v);
    expect(drain(rx)).toEqual([1, 2, 3]);
  });

  it('a lagging receiver does not slow or disturb a receiver that keeps up', () => {
    const [tx, slow] = broadcast<number>(2);
    const fast = tx.subscribe();
    const got: unknown[] = [];
    for (let v = 0; v < 10; v++) {
      tx.send(v);
      got.push(...drain(fast));
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(drain(slow)).toEqual([{ ok: false, reason: 'lagged', skipped: 8 }, 8, 9]);
  });

  it('recv reports a lag too', async () => {
    const [tx, rx] = broadcast<number>(1);
    tx.send(1);
    tx.send(2);
    expect(await rx.recv()).toEqual({ ok: false, reason: 'lagged', skipped: 1 });
    expect(await rx.recv()).toEqual({ ok: true, value: 2 });
  });
});

describe('broadcast: closing', () => {
  it('closes when every sender is closed; each receiver drains what it has not read, then gets closed', async () => {
    const [tx, rx] = broadcast<number>(4);
    const tx2 = tx.clone();
    tx.send(1);
    tx.close();
    expect(tx2.isClosed).toBe(false);
    tx2.send(2);
    tx2.close();
    expect(tx.send(3)).toBe(0);
    expect(drain(rx)).toEqual([1, 2]);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(await rx.recv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('a pending recv resolves closed when the last sender closes', async () => {
    const [tx, rx] = broadcast<number>(4);
    const pending = rx.recv();
    tx.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
  });

  it('an unsubscribed receiver gets closed, and a pending recv resolves closed', async () => {
    const [tx, rx] = broadcast<number>(4);
    const pending = rx.recv();
    rx.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    tx.send(1);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('a closed sender sends nothing (returns 0) while other clones keep the channel open', () => {
    const [tx, rx] = broadcast<number>(4);
    const tx2 = tx.clone();
    tx.close();
    expect(tx.send(1)).toBe(0);
    expect(tx2.send(2)).toBe(1);
    expect(drain(rx)).toEqual([2]);
  });

  it('cloning a closed sender is a TypeError', () => {
    const [tx] = broadcast<number>(1);
    tx.close();
    expect(() => tx.clone()).toThrow(TypeError);
  });
});

describe('broadcast: memory', () => {
  it('a value is released once every receiver has read it', async () => {
    const [tx, rx] = broadcast<object>(4);
    const ref = sendObject(tx);
    expect(rx.tryRecv().ok).toBe(true);
    await collectGarbageUntil(() => ref.deref() === undefined);
  });

  it('a receiver that unsubscribes holds no values alive', async () => {
    const [tx, rx] = broadcast<object>(4);
    const ref = sendObject(tx);
    rx.close();
    await collectGarbageUntil(() => ref.deref() === undefined);
  });

  it('a receiver dropped without close is unsubscribed and holds no values alive', async () => {
    const [tx, rx] = broadcast<object>(4);
    rx.close();
    const subscribeAndDrop = () => {
      tx.subscribe();
    };
    subscribeAndDrop();
    expect(tx.receiverCount).toBe(1);
    const ref = sendObject(tx);
    await collectGarbageUntil(() => tx.receiverCount === 0 && ref.deref() === undefined);
  });
});

/** Sends a fresh object and returns only a weak reference to it. */
function sendObject(tx: { send(value: object): number }): WeakRef<object> {
  const value = { payload: new Array(1000).fill(0) };
  tx.send(value);
  return new WeakRef(value);
}
