// OTP semantics of supervision beyond the basics: group restarts that stop at a failed start,
// per-incarnation lifecycle events, and ctx.exit.
import {
  type ActorRef,
  ActorSystem,
  type ExitReason,
  type Message,
  receive,
  type SystemEvent,
  supervisor,
} from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { describe, expect, it } from 'vitest';

type Log = string[];

function child(id: string, log: Log, failStart: () => boolean = () => false) {
  return receive<null, Message>(
    null,
    (s, m) => {
      if (m.type === 'crash') throw new Error(`${id} crashed`);
      return s;
    },
    {
      onStart: () => {
        if (failStart()) {
          log.push(`fail ${id}`);
          throw new Error(`${id} cannot start`);
        }
        log.push(`start ${id}`);
        return null;
      },
      onRestart: () => log.push(`down ${id}`),
    },
  );
}

describe('group restarts (oneForAll, restForOne)', () => {
  it.each(['oneForAll', 'restForOne'] as const)(
    '%s: a child that fails to start stops the group restart there; the children after it start only once it has',
    async (strategy) => {
      const system = ActorSystem.start({ name: `group-${strategy}` });
      const log: Log = [];
      let bFailures = 1; // b fails to start once, then starts
      system.spawn(
        supervisor({
          strategy,
          intensity: { maxRestarts: 10, withinMs: 1000 },
          children: [
            { id: 'a', start: () => child('a', log) },
            { id: 'b', start: () => child('b', log, () => log.includes('down a') && bFailures-- > 0) },
            { id: 'c', start: () => child('c', log) },
          ],
        }),
        { name: 'sup' },
      );
      await settle(system);
      log.length = 0;
      (system.lookup('/user/sup/a') as ActorRef<Message>).tell({ type: 'crash' });
      await settle(system);
      // First attempt: a starts, b fails, c is NOT started (it was before the fix). Second attempt
      // (the failed start counts as an exit): the group goes down and starts again, in order.
      const firstAttempt = log.slice(0, log.indexOf('fail b') + 1);
      expect(firstAttempt).toEqual(['down a', 'down c', 'down b', 'start a', 'fail b']);
      // The retry restarts b's group: every child under oneForAll, b and those after it under restForOne.
      const retry =
        strategy === 'oneForAll' ? ['down a', 'start a', 'start b', 'start c'] : ['start b', 'start c'];
      expect(log.slice(firstAttempt.length)).toEqual(retry);
      expect(system.tree().children[0]?.children.map((c) => c.status)).toEqual([
        'running',
        'running',
        'running',
      ]);
      await system.shutdown();
    },
  );
});

describe('lifecycle events per incarnation', () => {
  it('each incarnation has one ActorStarted and one ActorExited; siblings taken down by a group restart exit too; a failed start is an ActorFailed, not a restart', async () => {
    const system = ActorSystem.start({ name: 'incarnations' });
    const events: SystemEvent[] = [];
    const all: SystemEvent[] = [];
    system.events.subscribe((e) => {
      all.push(e);
      if (e.type !== 'DeadLetter') events.push(e);
    });
    const log: Log = [];
    let failNext = false;
    const failOnce = () => {
      const fail = failNext;
      failNext = false;
      return fail;
    };
    system.spawn(
      supervisor({
        strategy: 'oneForAll',
        intensity: { maxRestarts: 10, withinMs: 1000 },
        children: [
          { id: 'a', start: () => child('a', log) },
          { id: 'b', start: () => child('b', log, failOnce) },
        ],
      }),
      { name: 'sup' },
    );
    await settle(system);
    events.length = 0;
    failNext = true;
    (system.lookup('/user/sup/a') as ActorRef<Message>).tell({ type: 'crash' });
    await settle(system);
    const line = events.map((e) => {
      const who = 'path' in e ? e.path.replace('/user/sup/', '') : '?';
      switch (e.type) {
        case 'ActorStarted':
        case 'ActorRestarted':
          return `${e.type} ${who} #${e.restarts}`;
        case 'ActorExited':
          return `${e.type} ${who} #${e.restarts} ${e.reason.type}`;
        case 'ActorFailed':
          return `${e.type} ${who} ${e.phase}`;
        default:
          return `${e.type} ${who}`;
      }
    });
    expect(line).toEqual([
      'ActorFailed a running',
      'ActorExited a #0 error',
      'ActorExited b #0 shutdown',
      'ActorStarted a #1',
      'ActorRestarted a #1',
      'ActorFailed b start', // b's start failed: no ActorStarted, no ActorRestarted
      'ActorExited a #1 shutdown', // the retry takes the group down again
      'ActorStarted a #2',
      'ActorRestarted a #2',
      'ActorStarted b #2',
      'ActorRestarted b #2',
    ]);
    await system.shutdown();
    const ofChildren = (type: string) =>
      all.filter((e) => e.type === type && 'path' in e && e.path.startsWith('/user/sup/')).length;
    const started = ofChildren('ActorStarted');
    const exited = ofChildren('ActorExited');
    expect(started).toBe(5);
    expect(exited).toBe(started); // every incarnation that started also ended
  });
});

describe('ctx.exit', () => {
  const worker = (reason: ExitReason) =>
    receive<null, Message>(null, (s, m, ctx) => {
      if (m.type === 'exit') ctx.exit(reason);
      return s;
    });

  it('a transient child that exits normally is not restarted; one that exits with an error is', async () => {
    const system = ActorSystem.start({ name: 'exit' });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 5, withinMs: 1000 },
        children: [
          { id: 'normal', restart: 'transient', behavior: worker({ type: 'normal' }) },
          {
            id: 'abnormal',
            restart: 'transient',
            behavior: worker({ type: 'error', error: new Error('gave up') }),
          },
        ],
      }),
      { name: 'sup' },
    );
    const normal = system.lookup('/user/sup/normal') as ActorRef<Message>;
    const abnormal = system.lookup('/user/sup/abnormal') as ActorRef<Message>;
    normal.tell({ type: 'exit' });
    abnormal.tell({ type: 'exit' });
    normal.tell({ type: 'after' });
    await settle(system);
    expect(system.inspect(normal)).toMatchObject({ status: 'stopped', processed: 1 });
    expect(system.inspect(abnormal)).toMatchObject({ status: 'running', restarts: 1 });
    // An explicit exit is not a failed message: no `failed` dead letter.
    expect(events.filter((e) => e.type === 'DeadLetter' && e.reason === 'failed')).toEqual([]);
    expect(
      events.filter((e) => e.type === 'DeadLetter').map((e) => (e as { reason: string }).reason),
    ).toEqual([
      'stopped', // 'after', told to the stopped transient child
    ]);
    await system.shutdown();
  });

  it('ctx.exit with something that is not an ExitReason is a TypeError (a failure of the actor)', async () => {
    const system = ActorSystem.start({ name: 'exit-bad' });
    const ref = system.spawn(worker('bye' as unknown as ExitReason));
    ref.tell({ type: 'exit' });
    await settle(system);
    const stats = system.inspect(ref);
    expect(stats).toMatchObject({ status: 'stopped', failed: 1 });
    await system.shutdown();
  });
});
