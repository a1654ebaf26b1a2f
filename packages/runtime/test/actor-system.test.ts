import { type ActorRef, ActorSystem, type Message, receive, type SystemEvent } from '@troupe/runtime';
import { logSink, sequentialIds, settle, TestProbe } from '@troupe/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';

const idle = receive<null, Message>(null, (s) => s);
let system: ActorSystem;

function start(): { system: ActorSystem; events: SystemEvent[] } {
  system = ActorSystem.start({ name: 'test', ids: sequentialIds('id') });
  const events: SystemEvent[] = [];
  system.events.subscribe((e) => events.push(e));
  return { system, events };
}

afterEach(async () => {
  await system?.shutdown();
});

describe('ActorSystem: spawn, names, paths, lookup', () => {
  it('top-level actors live under /user with the given name and an id from the generator', () => {
    const { system } = start();
    const ref = system.spawn(idle, { name: 'decoder' });
    expect(ref.path).toBe('/user/decoder');
    expect(ref.name).toBe('decoder');
    expect(ref.id).toMatch(/^id\d+$/);
    expect(system.lookup('/user/decoder')).toBe(ref);
  });

  it('children get paths under their parent and are found by lookup', async () => {
    const { system } = start();
    let child: ActorRef<Message> | undefined;
    system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          child = ctx.spawn(idle, { name: 'decoder' });
          return null;
        },
      }),
      { name: 'pipeline' },
    );
    expect(child?.path).toBe('/user/pipeline/decoder');
    expect(system.lookup('/user/pipeline/decoder')).toBe(child);
    expect(system.lookup('/user/pipeline/nope')).toBeUndefined();
    expect(system.lookup('not-a-path')).toBeUndefined();
  });

  it('unnamed actors get distinct generated $-names', () => {
    const { system } = start();
    const a = system.spawn(idle);
    const b = system.spawn(idle);
    expect(a.name).toMatch(/^\$/);
    expect(a.name).not.toBe(b.name);
  });

  it('a duplicate sibling name is a TypeError naming it; the same name under another parent is fine', () => {
    const { system } = start();
    system.spawn(idle, { name: 'x' });
    expect(() => system.spawn(idle, { name: 'x' })).toThrow(/"x" already exists/);
  });

  it.each([
    ['', 'empty'],
    ['a/b', 'slash'],
    ['$x', 'reserved $'],
    [42, 'not a string'],
  ])('a bad name (%s: %s) is a TypeError', (name, _why) => {
    const { system } = start();
    expect(() => system.spawn(idle, { name: name as string })).toThrow(TypeError);
  });

  it.each([0, -1, 1.5, Number.NaN])('mailbox capacity %s is a RangeError naming it', (capacity) => {
    const { system } = start();
    expect(() => system.spawn(idle, { mailbox: { capacity } })).toThrow(RangeError);
    expect(() => system.spawn(idle, { mailbox: { capacity } })).toThrow(/mailbox\.capacity/);
  });

  it('an unknown overflow policy is a TypeError; a bad throughput is a RangeError', () => {
    const { system } = start();
    expect(() => system.spawn(idle, { mailbox: { overflow: 'sometimes' as never } })).toThrow(TypeError);
    expect(() => system.spawn(idle, { throughput: 0 })).toThrow(RangeError);
  });

  it('a non-behaviour is a TypeError', () => {
    const { system } = start();
    expect(() => system.spawn({} as never)).toThrow(TypeError);
  });

  it('non-object spawn options are a TypeError; a null shutdown option means the defaults', async () => {
    const { system } = start();
    expect(() => system.spawn(idle, 'fast' as never)).toThrow(/spawn: options must be an object; got string/);
    await expect(system.shutdown(null as never)).resolves.toBeUndefined();
  });

  it('bad system options are clear errors', () => {
    expect(() => ActorSystem.start({ name: '' })).toThrow(TypeError);
    expect(() => ActorSystem.start({ name: 'x', askTimeoutMs: -1 })).toThrow(RangeError);
  });

  it('publishes ActorStarted, ActorExited (the incarnation) and ActorStopped (the actor)', async () => {
    const { system, events } = start();
    const ref = system.spawn(idle, { name: 'a' });
    await system.stop(ref);
    await settle(system);
    expect(events).toEqual([
      { type: 'ActorStarted', path: '/user/a', id: ref.id, restarts: 0 },
      { type: 'ActorExited', path: '/user/a', id: ref.id, restarts: 0, reason: { type: 'shutdown' } },
      { type: 'ActorStopped', path: '/user/a', id: ref.id, reason: { type: 'shutdown' } },
    ]);
  });

  it('shutdown stops every actor, children before parents, and is idempotent', async () => {
    const { system, events } = start();
    system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.spawn(idle, { name: 'c1' });
          ctx.spawn(idle, { name: 'c2' });
          return null;
        },
      }),
      { name: 'p' },
    );
    const first = system.shutdown();
    expect(system.shutdown()).toBe(first);
    await first;
    const stopped = events.filter((e) => e.type === 'ActorStopped').map((e) => (e as { path: string }).path);
    expect(stopped).toEqual(['/user/p/c2', '/user/p/c1', '/user/p', '/user', '']);
    expect(() => system.spawn(idle)).toThrow(TypeError);
  });

  it('logs through pino with the actor path bound', async () => {
    const { logger, lines } = logSink('info');
    system = ActorSystem.start({ name: 'logs', logger });
    const ref = system.spawn(
      receive<null, Message>(null, (s, _m, ctx) => {
        ctx.log.info({ answer: 42 }, 'handled');
        return s;
      }),
      { name: 'talker' },
    );
    ref.tell({ type: 'go' });
    await settle(system);
    expect(lines).toContainEqual(
      expect.objectContaining({ actor: '/user/talker', answer: 42, msg: 'handled' }),
    );
  });

  it('a TestProbe records messages and fails clearly when none comes', async () => {
    const { system } = start();
    const probe = new TestProbe<{ type: 'hi' }>(system);
    probe.ref.tell({ type: 'hi' });
    expect(await probe.expectMessage()).toEqual({ type: 'hi' });
    await probe.expectNoMessage();
    await expect(probe.expectMessage()).rejects.toThrow(/no message arrived/);
  });

  it('behaviours reach the system through ctx.system', async () => {
    const { system } = start();
    const found: (string | undefined)[] = [];
    system.spawn(idle, { name: 'target' });
    const finder = system.spawn(
      receive<null, Message>(null, (s, _m, ctx) => {
        found.push(ctx.system.lookup('/user/target')?.path);
        return s;
      }),
    );
    finder.tell({ type: 'find' });
    await settle(system);
    expect(found).toEqual(['/user/target']);
  });
});
