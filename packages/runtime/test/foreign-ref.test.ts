// The extension point for refs whose actor lives elsewhere (the cluster's remote refs):
// ctx.watch / ctx.unwatch call the ref's hooks, and the transport's callback becomes one
// Terminated in the watcher, never more, never after an unwatch or a stop.
import {
  type ActorRef,
  ActorSystem,
  type ExitReason,
  FOREIGN_REF,
  type ForeignRef,
  type ForeignWatcher,
  isForeignRef,
  type Message,
  receive,
  type Terminated,
} from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';

/** A foreign ref that records its watchers; the test plays the transport. */
function fakeRemote(
  path: string,
): ForeignRef<Message> & { watchers: Set<ForeignWatcher>; throwOnWatch: boolean } {
  const watchers = new Set<ForeignWatcher>();
  const ref = {
    id: `remote-${path}`,
    path,
    name: path.split('/').pop() as string,
    watchers,
    throwOnWatch: false,
    tell: () => {},
    trySend: () => ({ ok: true as const }),
    send: async () => {},
    ask: () => Promise.reject(new Error('not here')),
    [FOREIGN_REF]: {
      watch: (w: ForeignWatcher) => {
        if (ref.throwOnWatch) throw new Error('transport broke');
        watchers.add(w);
      },
      unwatch: (w: ForeignWatcher) => {
        watchers.delete(w);
      },
    },
  };
  return ref as never;
}

type Cmd = { type: 'watch' | 'unwatch' | 'stop' };

function watcherOf(system: ActorSystem, target: ActorRef<Message>, seen: Terminated[]) {
  return system.spawn(
    receive<null, Cmd>(
      null,
      (s, m, ctx) => {
        if (m.type === 'watch') ctx.watch(target);
        else if (m.type === 'unwatch') ctx.unwatch(target);
        else ctx.stop();
        return s;
      },
      {
        onTerminated: (s, signal) => {
          seen.push(signal);
          return s;
        },
      },
    ),
  );
}

describe('foreign refs (the cluster extension point)', () => {
  it('is recognised only with both hooks', () => {
    expect(isForeignRef(fakeRemote('/user/a'))).toBe(true);
    expect(isForeignRef({ [FOREIGN_REF]: { watch() {} } })).toBe(false);
    expect(isForeignRef(null)).toBe(false);
  });

  it('a transport callback is one Terminated, with the foreign ref and its reason; repeats are ignored', async () => {
    const system = ActorSystem.start({ name: 'foreign' });
    const remote = fakeRemote('/user/far');
    const seen: Terminated[] = [];
    const w = watcherOf(system, remote, seen);
    w.tell({ type: 'watch' });
    w.tell({ type: 'watch' }); // watching twice is one watch
    await settle(system);
    expect(remote.watchers.size).toBe(1);
    const reason: ExitReason = { type: 'nodeDown', node: 'b' };
    for (const watcher of remote.watchers) {
      watcher.terminated(reason);
      watcher.terminated({ type: 'normal' });
    }
    await settle(system);
    expect(seen).toEqual([{ type: 'Terminated', ref: remote, reason }]);
    expect(seen[0]?.ref).toBe(remote);
    await system.shutdown();
  });

  it('after unwatch, a late callback delivers nothing and the transport was told', async () => {
    const system = ActorSystem.start({ name: 'foreign-unwatch' });
    const remote = fakeRemote('/user/far');
    const seen: Terminated[] = [];
    const w = watcherOf(system, remote, seen);
    w.tell({ type: 'watch' });
    await settle(system);
    const [handle] = [...remote.watchers];
    w.tell({ type: 'unwatch' });
    await settle(system);
    expect(remote.watchers.size).toBe(0);
    handle?.terminated({ type: 'normal' });
    await settle(system);
    expect(seen).toEqual([]);
    await system.shutdown();
  });

  it('a watcher that stops unwatches its foreign targets', async () => {
    const system = ActorSystem.start({ name: 'foreign-stop' });
    const remote = fakeRemote('/user/far');
    const w = watcherOf(system, remote, []);
    w.tell({ type: 'watch' });
    w.tell({ type: 'stop' });
    await settle(system);
    expect(remote.watchers.size).toBe(0);
    await system.shutdown();
  });

  it('a hook that throws is logged and contained: the watcher keeps running', async () => {
    const system = ActorSystem.start({ name: 'foreign-throw' });
    const remote = fakeRemote('/user/far');
    remote.throwOnWatch = true;
    const w = watcherOf(system, remote, []);
    w.tell({ type: 'watch' });
    await settle(system);
    expect(system.inspect(w)).toMatchObject({ status: 'running', processed: 1, failed: 0 });
    await system.shutdown();
  });

  it('watching something that is neither local nor foreign is still a TypeError', async () => {
    const system = ActorSystem.start({ name: 'foreign-bad' });
    const bogus = { id: 'x', path: '/user/x', name: 'x' } as unknown as ActorRef<Message>;
    const w = watcherOf(system, bogus, []);
    w.tell({ type: 'watch' });
    await settle(system);
    expect(system.inspect(w)).toMatchObject({ failed: 1 });
    await system.shutdown();
  });
});

describe('transport hooks on the system', () => {
  it('deadLetter counts and publishes; publish carries cluster events; shutdown hooks run after every actor stopped, latest first', async () => {
    const system = ActorSystem.start({ name: 'hooks' });
    const events: unknown[] = [];
    system.events.subscribe((e) => events.push(e));
    system.deadLetter('unreachable', { type: 'x' }, 'troupe://c@b/user/y');
    system.publish({ type: 'NodeDown', node: 'b', silentMs: 3000 });
    const order: string[] = [];
    const a = system.spawn(receive<null, Message>(null, (s) => s));
    system.addShutdownHook(() => {
      order.push(`first:${system.inspect(a)?.status}`);
    });
    system.addShutdownHook(async () => {
      order.push('second');
      throw new Error('hook failed'); // logged; shutdown still completes
    });
    const removed = system.addShutdownHook(() => {
      order.push('removed');
    });
    removed();
    await system.shutdown();
    expect(system.deadLetters).toBe(1);
    expect(events.slice(0, 2)).toEqual([
      { type: 'DeadLetter', reason: 'unreachable', message: { type: 'x' }, recipient: 'troupe://c@b/user/y' },
      { type: 'NodeDown', node: 'b', silentMs: 3000 },
    ]);
    expect(order).toEqual(['second', 'first:stopped']);
  });
});
