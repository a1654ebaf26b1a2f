import { watch } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('watch: latest value', () => {
  it('borrow returns the initial value, then the latest sent', () => {
    const [tx, rx] = watch('a');
    expect(rx.borrow()).toBe('a');
    expect(tx.send('b')).toEqual({ ok: true });
    expect(rx.borrow()).toBe('b');
    expect(tx.borrow()).toBe('b');
  });

  it('changed resolves when a value newer than the last seen arrives, and marks it seen', async () => {
    const [tx, rx] = watch(0);
    let resolved = false;
    const pending = rx.changed().then((r) => {
      resolved = true;
      return r;
    });
    await settle();
    expect(resolved).toBe(false);
    tx.send(1);
    expect(await pending).toEqual({ ok: true });
    expect(rx.hasChanged()).toBe(false);
  });

  it('changed resolves at once when an unseen value is already there', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    expect(rx.hasChanged()).toBe(true);
    expect(await rx.changed()).toEqual({ ok: true });
    expect(rx.hasChanged()).toBe(false);
  });

  it('intermediate values are never seen: only the latest', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.send(2);
    tx.send(3);
    expect(await rx.changed()).toEqual({ ok: true });
    expect(rx.borrow()).toBe(3);
    expect(rx.hasChanged()).toBe(false);
  });

  it('borrow does not mark seen; borrowAndUpdate does', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    expect(rx.borrow()).toBe(1);
    expect(rx.hasChanged()).toBe(true);
    expect(rx.borrowAndUpdate()).toBe(1);
    expect(rx.hasChanged()).toBe(false);
  });

  it('sendModify computes the next value from the current one and notifies', async () => {
    const [tx, rx] = watch({ count: 1 });
    expect(tx.sendModify((s) => ({ count: s.count + 1 }))).toEqual({ ok: true });
    expect(await rx.changed()).toEqual({ ok: true });
    expect(rx.borrow()).toEqual({ count: 2 });
  });

  it('a throwing sendModify leaves the value and version unchanged', () => {
    const [tx, rx] = watch(1);
    expect(() =>
      tx.sendModify(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(rx.borrow()).toBe(1);
    expect(rx.hasChanged()).toBe(false);
  });

  it('a new subscriber has seen the current value; a clone keeps the seen version', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    const fresh = tx.subscribe();
    const copy = rx.clone();
    expect(fresh.hasChanged()).toBe(false);
    expect(copy.hasChanged()).toBe(true);
    expect(tx.receiverCount).toBe(3);
  });

  it('an aborted changed resolves aborted and marks nothing seen', async () => {
    const [tx, rx] = watch(0);
    const controller = new AbortController();
    const pending = rx.changed({ signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ ok: false, reason: 'aborted' });
    tx.send(1);
    expect(rx.hasChanged()).toBe(true);
  });
});

describe('watch: closing', () => {
  it('after the last sender closes, an unseen value still yields one ok, then closed', async () => {
    const [tx, rx] = watch(0);
    const tx2 = tx.clone();
    tx.send(1);
    tx.close();
    expect(await rx.changed()).toEqual({ ok: true });
    tx2.close();
    expect(await rx.changed()).toEqual({ ok: false, reason: 'closed' });
    expect(rx.borrow()).toBe(1);
  });

  it('a pending changed resolves closed when the last sender closes', async () => {
    const [tx, rx] = watch(0);
    const pending = rx.changed();
    tx.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
  });

  it('a closed sender hands the value back', () => {
    const [tx, rx] = watch(0);
    tx.close();
    expect(tx.send(5)).toEqual({ ok: false, reason: 'closed', value: 5 });
    expect(rx.borrow()).toBe(0);
    expect(() => tx.clone()).toThrow(TypeError);
  });

  it('closing a receiver resolves its pending changed with closed and unsubscribes it', async () => {
    const [tx, rx] = watch(0);
    const pending = rx.changed();
    rx.close();
    expect(await pending).toEqual({ ok: false, reason: 'closed' });
    expect(tx.receiverCount).toBe(0);
    tx.send(1);
    expect(rx.hasChanged()).toBe(false);
    expect(await rx.changed()).toEqual({ ok: false, reason: 'closed' });
  });
});
