import { type ActorRef, type ActorSystem, InvalidOptionsError, supervisor } from '@troupe/runtime';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import {
  ConcurrencyError,
  DecodeError,
  durableState,
  Effect,
  eventSourced,
  memoryStore,
  type PersistenceStore,
  RecoveryError,
} from '../src/index.js';
import { ControlledStore } from './support/store-wrappers.js';
import { startSystem } from './support/systems.js';

type CartMsg =
  | { readonly type: 'add'; readonly item: string; readonly replyTo?: ActorRef<CartReply> }
  | { readonly type: 'get'; readonly replyTo: ActorRef<CartReply> }
  | { readonly type: 'clear'; readonly replyTo?: ActorRef<CartReply> }
  | { readonly type: 'crash' };
type CartReply = { readonly type: 'items'; readonly items: readonly string[] };
interface Cart {
  readonly items: readonly string[];
}

const cart = (pid: string, store: PersistenceStore, fromStored?: (stored: unknown) => Cart) =>
  durableState<CartMsg, Cart>({
    persistenceId: pid,
    store,
    emptyState: { items: [] },
    handler: (state, msg) => {
      if (msg.type === 'crash') throw new Error('crash requested');
      if (msg.type === 'get')
        return Effect.none(() => msg.replyTo.tell({ type: 'items', items: state.items }));
      if (msg.type === 'clear')
        return Effect.delete((empty) => msg.replyTo?.tell({ type: 'items', items: empty.items }));
      return Effect.persist({ items: [...state.items, msg.item] }, (next) =>
        msg.replyTo?.tell({ type: 'items', items: next.items }),
      );
    },
    ...(fromStored === undefined ? {} : { fromStored }),
  });

const items = async (ref: ActorRef<CartMsg>) =>
  (await ref.ask<CartReply>((replyTo) => ({ type: 'get', replyTo }), { timeoutMs: 5000 })).items;
const add = async (ref: ActorRef<CartMsg>, item: string) =>
  (await ref.ask<CartReply>((replyTo) => ({ type: 'add', item, replyTo }), { timeoutMs: 5000 })).items;

const clear = async (ref: ActorRef<CartMsg>) =>
  (await ref.ask<CartReply>((replyTo) => ({ type: 'clear', replyTo }), { timeoutMs: 5000 })).items;

const start = (name = 'ds') => startSystem(name);
const supervised = (system: ActorSystem, pid: string, store: PersistenceStore) => {
  system.spawn(
    supervisor({
      strategy: 'oneForOne',
      intensity: { maxRestarts: 10, withinMs: 60_000 },
      children: [{ id: 'cart', behavior: cart(pid, store) }],
    }),
    { name: 'carts' },
  );
  return system.lookup('/user/carts/cart') as unknown as ActorRef<CartMsg>;
};

describe('durableState', () => {
  it('stores the whole state after each change, before the reply, and loads it in a new system', async () => {
    const store = new ControlledStore(memoryStore());
    const first = start('first').system;
    const ref = first.spawn(cart('cart-1', store));
    expect(await add(ref, 'apple')).toEqual(['apple']);
    expect(await add(ref, 'pear')).toEqual(['apple', 'pear']);
    expect(await items(ref)).toEqual(['apple', 'pear']);
    expect(store.batches.flat().map((w) => w.kind)).toEqual(['state', 'state']); // a read stores nothing
    expect(await store.inner.loadState('cart-1')).toEqual({
      revision: 2,
      payload: '{"items":["apple","pear"]}',
    });
    await first.shutdown();
    const again = start('second').system.spawn(cart('cart-1', store));
    expect(await items(again)).toEqual(['apple', 'pear']);
  });

  it('a restart resumes from the stored state with the mailbox kept', async () => {
    const { system, deadLetters } = start();
    const ref = supervised(system, 'cart-1', memoryStore());
    await add(ref, 'a');
    ref.tell({ type: 'crash' });
    ref.tell({ type: 'add', item: 'b' });
    expect(await items(ref)).toEqual(['a', 'b']);
    expect(system.inspect(ref)?.restarts).toBe(1);
    expect(deadLetters.map((d) => d.reason)).toEqual(['failed']);
  });

  it('a failed write leaves the state unchanged and fails the actor', async () => {
    const { system, failures, deadLetters } = start();
    const store = new ControlledStore(memoryStore());
    const ref = supervised(system, 'cart-1', store);
    await add(ref, 'a');
    store.failWrites = new Error('connection reset');
    ref.tell({ type: 'add', item: 'lost' });
    await waitFor(() => failures.length === 1, 'the failure');
    store.failWrites = null;
    expect(await items(ref)).toEqual(['a']);
    expect(deadLetters.filter((d) => d.reason === 'failed')).toHaveLength(1);
  });

  it('two incarnations cannot both write: the loser gets ConcurrencyError and reloads the winner', async () => {
    const store = memoryStore();
    const a = start('a');
    const b = start('b');
    const refA = supervised(a.system, 'cart-1', store);
    const refB = supervised(b.system, 'cart-1', store);
    await items(refA);
    await items(refB);
    await add(refA, 'from-a');
    refB.tell({ type: 'add', item: 'from-b' });
    await waitFor(() => b.failures.length === 1, 'B to fail');
    expect(b.failures[0]?.error).toBeInstanceOf(ConcurrencyError);
    expect(await items(refB)).toEqual(['from-a']);
    expect(await add(refB, 'from-b-again')).toEqual(['from-a', 'from-b-again']);
  });

  it('a stored state that cannot be read fails the start with a RecoveryError; fromStored upgrades old shapes', async () => {
    const store = memoryStore();
    await store.write([{ kind: 'state', persistenceId: 'broken', expectedRevision: 0, payload: '{' }]);
    await store.write([{ kind: 'state', persistenceId: 'old', expectedRevision: 0, payload: '["x","y"]' }]);
    const { system, failures } = start();
    system.spawn(cart('broken', store));
    await waitFor(() => failures.length === 1, 'the failed start');
    const error = failures[0]?.error as RecoveryError;
    expect(error).toBeInstanceOf(RecoveryError);
    expect(error).toMatchObject({ persistenceId: 'broken', seq: 1 });
    expect(error.cause).toBeInstanceOf(DecodeError);
    expect(String(failures[0]?.error)).toMatch(/broken: state revision 1 cannot be decoded/);
    const upgraded = system.spawn(
      cart('old', store, (stored) =>
        Array.isArray(stored) ? { items: stored as string[] } : (stored as Cart),
      ),
    );
    expect(await items(upgraded)).toEqual(['x', 'y']);
  });

  it('Effect.delete: the state is emptyState again, then runs; a restart and a new system find no state; the revision continues', async () => {
    const store = memoryStore();
    const { system, deadLetters } = start('first');
    const ref = supervised(system, 'cart-1', store);
    await add(ref, 'a');
    await add(ref, 'b');
    expect(await clear(ref)).toEqual([]);
    expect(await store.loadState('cart-1')).toEqual({ revision: 3, payload: '', deleted: true });
    expect(await items(ref)).toEqual([]);
    // A supervised restart (in this process) recovers the deleted state: none.
    ref.tell({ type: 'crash' });
    expect(await items(ref)).toEqual([]);
    expect(system.inspect(ref)?.restarts).toBe(1);
    expect(system.tree().children[0]?.children[0]?.details).toEqual({ persistenceId: 'cart-1', revision: 3 });
    expect(await add(ref, 'c')).toEqual(['c']);
    expect(await store.loadState('cart-1')).toEqual({ revision: 4, payload: '{"items":["c"]}' });
    expect(await clear(ref)).toEqual([]);
    await system.shutdown();
    expect(deadLetters.map((d) => d.reason)).toEqual(['failed']);
    // A new system (a new process) too.
    const again = start('second').system.spawn(cart('cart-1', store));
    expect(await items(again)).toEqual([]);
    expect(await add(again, 'd')).toEqual(['d']);
    expect(await store.loadState('cart-1')).toEqual({ revision: 6, payload: '{"items":["d"]}' });
  });

  it('an incarnation holding a revision from before a delete cannot write over it', async () => {
    const store = memoryStore();
    const a = start('a');
    const b = start('b');
    const refA = supervised(a.system, 'cart-1', store);
    const refB = supervised(b.system, 'cart-1', store);
    expect(await items(refA)).toEqual([]); // both at revision 0
    expect(await items(refB)).toEqual([]);
    await add(refB, 'from-b');
    await clear(refB); // revision 2: deleted, which looks like "no state" to a reader
    refA.tell({ type: 'add', item: 'stale' }); // expects revision 0: refused, not resurrected
    await waitFor(() => a.failures.length === 1, 'A to fail');
    expect(a.failures[0]?.error).toBeInstanceOf(ConcurrencyError);
    expect(a.failures[0]?.error).toMatchObject({ expected: 0, actual: 2 });
    expect(await store.loadState('cart-1')).toEqual({ revision: 2, payload: '', deleted: true });
    expect(await items(refA)).toEqual([]);
    expect(await add(refA, 'fresh')).toEqual(['fresh']); // its restart continues at revision 2
    expect(await store.loadState('cart-1')).toEqual({ revision: 3, payload: '{"items":["fresh"]}' });
  });

  it('a delete that fails leaves the state as it was and fails the actor', async () => {
    const { system, failures } = start();
    const store = new ControlledStore(memoryStore());
    const ref = supervised(system, 'cart-1', store);
    await add(ref, 'kept');
    store.failWrites = new Error('connection reset');
    ref.tell({ type: 'clear' });
    await waitFor(() => failures.length === 1, 'the failure');
    store.failWrites = null;
    expect(await items(ref)).toEqual(['kept']);
    expect(await store.inner.loadState('cart-1')).toEqual({ revision: 1, payload: '{"items":["kept"]}' });
  });

  it('refuses an effect that is not one, and Effect.delete from an event-sourced handler', async () => {
    const { system, failures } = start();
    const store = memoryStore();
    system
      .spawn(
        durableState<{ type: 'go' }, number>({
          persistenceId: 'odd',
          store,
          emptyState: 0,
          handler: () => ({ kind: 'weird' }) as never,
        }),
      )
      .tell({ type: 'go' });
    system
      .spawn(
        eventSourced<{ type: 'go' }, never, number>({
          persistenceId: 'es',
          store,
          emptyState: 0,
          commandHandler: () => Effect.delete() as never,
          eventHandler: (n) => n,
        }),
      )
      .tell({ type: 'go' });
    await waitFor(() => failures.length === 2, 'both failures');
    expect(failures.map((f) => String(f.error)).sort()).toEqual([
      expect.stringMatching(/durableState\(odd\): the handler returned a 'weird' effect/),
      expect.stringMatching(/eventSourced\(es\): the command handler returned a 'delete' effect/),
    ]);
    expect(await store.loadState('odd')).toBeUndefined();
    expect(await store.highestSeq('es')).toBe(0);
  });

  it('reports every bad option at once', () => {
    let error: unknown;
    try {
      durableState({
        persistenceId: '',
        store: memoryStore(),
        emptyState: 0,
        handler: 7 as never,
        fromStored: 'x' as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).errors.map((e) => e.message)).toEqual([
      'durableState: persistenceId must be a non-empty string; got ""',
      'durableState(): handler must be a function; got 7',
      'durableState(): fromStored must be a function; got "x"',
    ]);
    expect(() =>
      durableState({ persistenceId: 'x', store: memoryStore(), emptyState: 0, handler: 7 as never }),
    ).toThrow(TypeError);
  });
});
