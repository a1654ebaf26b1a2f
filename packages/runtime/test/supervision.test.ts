import {
  type ActorRef,
  ActorSystem,
  type ChildSpec,
  type Message,
  type RestartType,
  receive,
  type Strategy,
  Supervisor,
  type SupervisorMessage,
  type SystemEvent,
  supervisor,
} from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type WorkerMsg = { type: 'crash' } | { type: 'quit' } | { type: 'work'; n: number };

let system: ActorSystem;
let clock: VirtualClock;
let events: SystemEvent[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'supervision', clock });
  events = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown();
});

/** A worker that records handled work in `log` (with its name), crashes or quits on demand. */
function worker(name: string, log: string[] = []) {
  return receive<null, WorkerMsg>(null, (s, m, ctx) => {
    if (m.type === 'crash') throw new Error(`${name} crashed`);
    if (m.type === 'quit') ctx.stop();
    if (m.type === 'work') log.push(`${name}:${m.n}`);
    return s;
  });
}

function spec(id: string, restart: RestartType = 'permanent', log?: string[]): ChildSpec {
  return { id, behavior: worker(id, log), restart };
}

function ref(path: string): ActorRef<WorkerMsg> {
  const found = system.lookup(path);
  if (found === undefined) throw new Error(`no actor at ${path}`);
  return found as unknown as ActorRef<WorkerMsg>;
}

const restarts = (path: string) => {
  const found = system.lookup(path);
  return found === undefined ? undefined : system.inspect(found)?.restarts;
};

describe('the OTP matrix: restart type × exit reason × strategy', () => {
  const strategies: Strategy[] = ['oneForOne', 'oneForAll', 'restForOne'];
  const types: RestartType[] = ['permanent', 'transient', 'temporary'];
  const reasons = ['error', 'normal', 'shutdown'] as const;
  const cases = strategies.flatMap((strategy) =>
    types.flatMap((type) => reasons.map((reason) => ({ strategy, type, reason }))),
  );

  it.each(cases)('$strategy: a $type child exiting with $reason', async ({ strategy, type, reason }) => {
    system.spawn(
      supervisor({
        strategy,
        intensity: { maxRestarts: 10, withinMs: 1000 },
        children: [spec('a'), spec('b', type), spec('c')],
      }),
      { name: 'sup' },
    );
    const b = ref('/user/sup/b');
    if (reason === 'error') b.tell({ type: 'crash' });
    else if (reason === 'normal') b.tell({ type: 'quit' });
    else system.stop(b);
    await settle(system);

    const restarted = type === 'permanent' || (type === 'transient' && reason === 'error');
    expect(system.inspect(b)?.status).toBe(restarted ? 'running' : 'stopped');
    expect(system.inspect(b)?.restarts).toBe(restarted ? 1 : 0);
    const siblingsRestarted = restarted && strategy !== 'oneForOne';
    expect(restarts('/user/sup/a')).toBe(siblingsRestarted && strategy === 'oneForAll' ? 1 : 0);
    expect(restarts('/user/sup/c')).toBe(siblingsRestarted ? 1 : 0);
    if (type === 'temporary')
      expect((await Supervisor.children(ref('/user/sup') as never)).map((c) => c.id)).toEqual(['a', 'c']);
  });

  it('a temporary sibling taken down by oneForAll is not restarted and is removed', async () => {
    const sup = system.spawn(
      supervisor({
        strategy: 'oneForAll',
        intensity: { maxRestarts: 10, withinMs: 1000 },
        children: [spec('a'), spec('tmp', 'temporary'), spec('c')],
      }),
      { name: 'sup' },
    );
    const tmp = ref('/user/sup/tmp');
    ref('/user/sup/c').tell({ type: 'crash' });
    await settle(system);
    expect(system.inspect(tmp)?.status).toBe('stopped');
    expect((await Supervisor.children(sup)).map((c) => c.id)).toEqual(['a', 'c']);
  });
});

describe('restart order', () => {
  it('oneForAll ends the failed child first, then its siblings in reverse start order, then starts every child in start order', async () => {
    const hooks: string[] = [];
    const hooked = (id: string) =>
      receive<null, WorkerMsg>(
        null,
        (s, m) => {
          if (m.type === 'crash') throw new Error('crash');
          return s;
        },
        {
          onStart: () => {
            hooks.push(`start ${id}`);
            return null;
          },
          onRestart: () => hooks.push(`down ${id}`),
        },
      );
    system.spawn(
      supervisor({
        strategy: 'oneForAll',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: ['a', 'b', 'c'].map((id) => ({ id, behavior: hooked(id) })),
      }),
      { name: 'sup' },
    );
    hooks.length = 0;
    ref('/user/sup/b').tell({ type: 'crash' });
    await settle(system);
    // OTP: the failed child's incarnation ends first, then its siblings in reverse start order.
    expect(hooks).toEqual(['down b', 'down c', 'down a', 'start a', 'start b', 'start c']);
  });
});

describe('restart in place', () => {
  it('keeps the ref and the mailbox: 10,000 queued messages are all processed, none lost', async () => {
    const handled: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const behavior = receive<null, WorkerMsg | { type: 'block' }>(null, async (s, m) => {
      if (m.type === 'block') await gate;
      if (m.type === 'crash') throw new Error('crash');
      if (m.type === 'work') handled.push(m.n);
      return s;
    });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'w', behavior: behavior, mailbox: { capacity: 20_000 } }],
      }),
      { name: 'sup' },
    );
    const w = ref('/user/sup/w') as unknown as ActorRef<WorkerMsg | { type: 'block' }>;
    w.tell({ type: 'block' });
    await settle(system);
    for (let n = 0; n < 10_000; n++) w.tell(n === 5000 ? { type: 'crash' } : { type: 'work', n });
    expect(system.inspect(w)?.mailboxDepth).toBe(10_000);
    release();
    await settle(system);
    expect(handled).toHaveLength(9_999);
    expect(handled).toEqual([...Array(10_000).keys()].filter((n) => n !== 5000));
    expect(system.inspect(w)).toMatchObject({ restarts: 1, status: 'running', mailboxDepth: 0 });
    expect(system.lookup('/user/sup/w')).toBe(w);
    const failed = events.filter((e) => e.type === 'DeadLetter' && e.reason === 'failed');
    expect(failed).toHaveLength(1);
  });

  it('state starts again from the initial state; timers of the old incarnation are cancelled', async () => {
    type M =
      | { type: 'inc' }
      | { type: 'get'; replyTo: ActorRef<{ type: 'n'; n: number }> }
      | { type: 'crash' }
      | { type: 'tick' };
    const counter = receive<number, M>(0, (n, m, ctx) => {
      if (m.type === 'inc') {
        ctx.timers.startSingle('t', { type: 'tick' }, 100);
        return n + 1;
      }
      if (m.type === 'tick') return n + 1000;
      if (m.type === 'crash') throw new Error('crash');
      ctx.reply(m.replyTo, { type: 'n', n });
      return n;
    });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'c', behavior: counter }],
      }),
      { name: 'sup' },
    );
    const c = ref('/user/sup/c') as unknown as ActorRef<M>;
    c.tell({ type: 'inc' });
    c.tell({ type: 'inc' });
    c.tell({ type: 'crash' });
    await settle(system);
    expect(clock.pending).toBe(0);
    clock.advance(200);
    await expect(c.ask<{ type: 'n'; n: number }>((replyTo) => ({ type: 'get', replyTo }))).resolves.toEqual({
      type: 'n',
      n: 0,
    });
  });

  it('hooks run in order: onRestart on the old incarnation, onStart on the new, onStop at the end', async () => {
    const hooks: string[] = [];
    let incarnation = 0;
    const b = receive<number, WorkerMsg>(
      0,
      (s, m) => {
        if (m.type === 'crash') throw new Error('crash');
        return s;
      },
      {
        onStart: () => {
          hooks.push(`start#${++incarnation}`);
          return incarnation;
        },
        onRestart: (s, reason) => hooks.push(`restart#${s}:${reason.type}`),
        onStop: (s, reason) => hooks.push(`stop#${s}:${reason.type}`),
      },
    );
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'h', behavior: b }],
      }),
      { name: 'sup' },
    );
    ref('/user/sup/h').tell({ type: 'crash' });
    await settle(system);
    await system.shutdown();
    expect(hooks).toEqual(['start#1', 'restart#1:error', 'start#2', 'stop#2:shutdown']);
  });

  it("the failed actor's own children are stopped; publishes ActorRestarted with the reason", async () => {
    const parent = receive<null, WorkerMsg>(
      null,
      (s, m) => {
        if (m.type === 'crash') throw new Error('crash');
        return s;
      },
      {
        onStart: (ctx) => {
          ctx.spawn(worker('kid'), { name: 'kid' });
          return null;
        },
      },
    );
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'p', behavior: parent }],
      }),
      { name: 'sup' },
    );
    const firstKid = ref('/user/sup/p/kid');
    ref('/user/sup/p').tell({ type: 'crash' });
    await settle(system);
    expect(system.inspect(firstKid)?.status).toBe('stopped');
    expect(system.lookup('/user/sup/p/kid')).not.toBe(firstKid); // a fresh child of the new incarnation
    const restarted = events.find((e) => e.type === 'ActorRestarted');
    expect(restarted).toMatchObject({ path: '/user/sup/p', restarts: 1, reason: { type: 'error' } });
  });
});

describe('restart intensity', () => {
  function crashTwiceThen(advanceMs: number) {
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 2, withinMs: 1000 },
        children: [spec('w')],
      }),
      { name: 'sup' },
    );
    const w = ref('/user/sup/w');
    return async () => {
      w.tell({ type: 'crash' });
      await settle(system);
      w.tell({ type: 'crash' });
      await settle(system);
      clock.advance(advanceMs);
      w.tell({ type: 'crash' });
      await settle(system);
    };
  }

  it('the (maxRestarts + 1)-th restart inside the window escalates: children stopped, supervisor failed', async () => {
    await crashTwiceThen(999)();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'SupervisorEscalated', path: '/user/sup' }),
    );
    expect(system.lookup('/user/sup')).toBeUndefined();
    const stops = events.filter((e) => e.type === 'ActorStopped').map((e) => (e as { path: string }).path);
    expect(stops).toEqual(['/user/sup/w', '/user/sup']);
    const supStopped = events.find((e) => e.type === 'ActorStopped' && e.path === '/user/sup') as {
      reason: { type: string; error: Error };
    };
    expect(supStopped.reason.type).toBe('error');
    expect(supStopped.reason.error.name).toBe('RestartIntensityError');
  });

  it('once the oldest restart leaves the window, restarts are allowed again', async () => {
    await crashTwiceThen(1000)();
    expect(events.some((e) => e.type === 'SupervisorEscalated')).toBe(false);
    expect(restarts('/user/sup/w')).toBe(3);
  });

  it('escalation climbs three levels: leaf → mid (gives up) → top restarts mid, then gives up too', async () => {
    const mid = () =>
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 0, withinMs: 1000 },
        children: [spec('leaf')],
      });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 1, withinMs: 1000 },
        children: [{ id: 'mid', start: mid }],
      }),
      { name: 'top' },
    );
    ref('/user/top/mid/leaf').tell({ type: 'crash' });
    await settle(system);
    expect(restarts('/user/top/mid')).toBe(1);
    expect(system.lookup('/user/top/mid/leaf')).toBeDefined(); // restarted mid started a fresh leaf
    ref('/user/top/mid/leaf').tell({ type: 'crash' });
    await settle(system);
    const escalated = events
      .filter((e) => e.type === 'SupervisorEscalated')
      .map((e) => (e as { path: string }).path);
    expect(escalated).toEqual(['/user/top/mid', '/user/top/mid', '/user/top']);
    expect(system.lookup('/user/top')).toBeUndefined();
  });

  it("with onEscalation: 'shutdown' a top-level failure shuts the system down", async () => {
    const sys = ActorSystem.start({ name: 'strict', onEscalation: 'shutdown' });
    const stopped: string[] = [];
    sys.events.subscribe((e) => {
      if (e.type === 'ActorStopped') stopped.push(e.path);
    });
    const other = sys.spawn(worker('other'), { name: 'other' });
    const fragile = sys.spawn(worker('fragile'), { name: 'fragile' });
    fragile.tell({ type: 'crash' });
    await sys.shutdown(); // same promise as the one the escalation started
    expect(stopped).toContain('/user/other');
    expect(sys.inspect(other)?.status).toBe('stopped');
  });
});

describe('backoff', () => {
  it('delays restarts exponentially on the clock while messages keep queuing, then resets', async () => {
    const log: string[] = [];
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 100, withinMs: 100_000 },
        backoff: { minMs: 100, maxMs: 300, resetAfterMs: 1000 },
        children: [spec('w', 'permanent', log)],
      }),
      { name: 'sup' },
    );
    const w = ref('/user/sup/w');
    const crashAndMeasure = async () => {
      w.tell({ type: 'crash' });
      w.tell({ type: 'work', n: 1 });
      await settle(system);
      let waited = 0;
      while (system.inspect(w)?.status === 'suspended') {
        clock.advance(10);
        waited += 10;
        await settle(system);
      }
      return waited;
    };
    expect(await crashAndMeasure()).toBe(100);
    expect(await crashAndMeasure()).toBe(200);
    expect(await crashAndMeasure()).toBe(300);
    expect(await crashAndMeasure()).toBe(300);
    clock.advance(1000);
    expect(await crashAndMeasure()).toBe(100);
    expect(log).toEqual(['w:1', 'w:1', 'w:1', 'w:1', 'w:1']);
  });
});

describe('dynamic children', () => {
  it('startChild, children, stopChild, restartChild', async () => {
    const sup = system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [spec('a')],
      }),
      { name: 'sup' },
    );
    const b = await Supervisor.startChild(sup, spec('b') as ChildSpec<WorkerMsg>);
    expect(b.path).toBe('/user/sup/b');
    expect((await Supervisor.children(sup)).map((c) => [c.id, c.status])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    await expect(Supervisor.startChild(sup, spec('b'))).rejects.toThrow(/duplicate id/);
    await expect(() => Supervisor.startChild(sup, { id: 'c' } as ChildSpec)).rejects.toThrow(
      /exactly one of behavior or start/,
    );
    await Supervisor.stopChild(sup, 'b');
    expect(system.inspect(b)?.status).toBe('stopped');
    b.tell({ type: 'work', n: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'DeadLetter', reason: 'stopped' });
    const again = await Supervisor.restartChild(sup, 'b');
    expect(again.path).toBe('/user/sup/b');
    expect(system.lookup('/user/sup/b')).toBe(again);
    const a = ref('/user/sup/a');
    expect(await Supervisor.restartChild(sup, 'a')).toBe(a); // a running child restarts in place
    expect(system.inspect(a)?.restarts).toBe(1);
    await expect(Supervisor.stopChild(sup, 'zzz')).rejects.toThrow(/no child with id "zzz"/);
  });
});

describe('shutdown', () => {
  it('stops children in reverse start order after draining their mailboxes', async () => {
    const log: string[] = [];
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [spec('a', 'permanent', log), spec('b', 'permanent', log), spec('c', 'permanent', log)],
      }),
      { name: 'sup' },
    );
    for (const id of ['a', 'b', 'c'])
      for (let n = 0; n < 3; n++) ref(`/user/sup/${id}`).tell({ type: 'work', n });
    await system.shutdown();
    expect(log).toHaveLength(9);
    const stops = events.filter((e) => e.type === 'ActorStopped').map((e) => (e as { path: string }).path);
    expect(stops.slice(0, 4)).toEqual(['/user/sup/c', '/user/sup/b', '/user/sup/a', '/user/sup']);
    expect(events.filter((e) => e.type === 'DeadLetter')).toEqual([]);
  });

  it('a child that cannot drain within its shutdownMs is stopped hard; what is queued or still in its handler becomes shutdown dead letters', async () => {
    const stuck = receive<null, WorkerMsg>(null, async (s) => {
      await new Promise<void>(() => {}); // never finishes
      return s;
    });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [{ id: 'stuck', behavior: stuck, shutdownMs: 50 }],
      }),
      { name: 'sup' },
    );
    const w = ref('/user/sup/stuck');
    for (let n = 0; n < 3; n++) w.tell({ type: 'work', n });
    await settle(system);
    const done = system.shutdown();
    await settle(system);
    w.tell({ type: 'work', n: 99 }); // refused while draining: a stopped dead letter
    clock.advance(50);
    await done;
    const dead = events
      .filter((e) => e.type === 'DeadLetter')
      .map((e) => [(e as { reason: string }).reason, (e as { message: { n: number } }).message.n]);
    expect(dead).toEqual([
      ['stopped', 99],
      ['shutdown', 0], // abandoned in its handler by the hard stop
      ['shutdown', 1],
      ['shutdown', 2],
    ]);
  });

  it('releases producers blocked on a full mailbox with ActorStoppedError', async () => {
    const slow = receive<null, WorkerMsg>(null, async (s) => {
      await new Promise<void>(() => {});
      return s;
    });
    const w = system.spawn(slow, { name: 'slow', mailbox: { capacity: 1 }, shutdownMs: 10 });
    w.tell({ type: 'work', n: 0 });
    await settle(system);
    w.tell({ type: 'work', n: 1 });
    const blocked = w.send({ type: 'work', n: 2 });
    const done = system.shutdown();
    await expect(blocked).rejects.toThrow('stopped');
    clock.advance(10);
    await done;
  });
});

describe('tree', () => {
  it('is a serializable snapshot with kinds, status, restarts and mailbox depth', async () => {
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [spec('a'), spec('b')],
      }),
      { name: 'sup' },
    );
    ref('/user/sup/a').tell({ type: 'crash' });
    await settle(system);
    const tree = JSON.parse(JSON.stringify(system.tree())) as ReturnType<ActorSystem['tree']>;
    expect(tree.path).toBe('/user');
    const sup = tree.children[0];
    expect(sup).toMatchObject({ path: '/user/sup', kind: 'supervisor', status: 'running' });
    expect(sup?.children.map((c) => [c.name, c.kind, c.restarts, c.mailboxDepth])).toEqual([
      ['a', 'worker', 1, 0],
      ['b', 'worker', 0, 0],
    ]);
  });
});

// Keeps the imported message type in use for readers of the file.
export type { Message, SupervisorMessage };
