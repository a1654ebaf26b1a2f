/**
 * Restart storm with escalation, on a `VirtualClock`.
 *
 * The tree: `/user/top` (restForOne, at most 1 restart per 1000 ms) over `steady`, `mid` and
 * `after`; `mid` (oneForOne, at most 3 restarts per 1000 ms) over `flaky`, a child whose handler
 * always throws. A storm of messages to `flaky` makes it fail again and again; the guarantees:
 * - `mid` restarts `flaky` exactly `maxRestarts` times, then escalates exactly once for the
 *   window, however many messages are still queued (those become `stopped` dead letters);
 * - `top` answers per its strategy: `mid` and the children started after it (`after`) restart,
 *   `steady` (started before) is untouched; the restarted `mid` runs a fresh `flaky`;
 * - a storm in the next window is again exactly one escalation, absorbed by `top`;
 * - a third escalation inside `top`'s window exceeds `top`'s intensity: `top` escalates once
 *   and stops with its whole subtree, while the rest of the system keeps running.
 */
import {
  type ActorRef,
  ActorSystem,
  type ChildSpec,
  type DeadLetter,
  RestartIntensityError,
  receive,
  type SystemEvent,
  supervisor,
} from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from './support/time.js';

type Work = { readonly type: 'work'; readonly n: number };
type Ping = { readonly type: 'ping'; readonly replyTo: ActorRef<{ readonly type: 'pong' }> };

const STORM = 50; // messages per storm: far more than mid's intensity allows
const MID = { maxRestarts: 3, withinMs: 1000 };
const TOP = { maxRestarts: 1, withinMs: 1000 };

let clock: VirtualClock;
let system: ActorSystem;
let events: SystemEvent[];

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'restart-storm', clock });
  events = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown();
});

class FlakyError extends Error {}

const flaky = receive<null, Work>(null, (_s, m) => {
  throw new FlakyError(`flaky failed on ${m.n}`);
});
const calm = receive<null, Work>(null, (s) => s);

function tree(): void {
  const mid = (): ReturnType<typeof supervisor> =>
    supervisor({ strategy: 'oneForOne', intensity: MID, children: [{ id: 'flaky', behavior: flaky }] });
  system.spawn(
    supervisor({
      strategy: 'restForOne',
      intensity: TOP,
      children: [
        { id: 'steady', behavior: calm },
        { id: 'mid', start: mid } as ChildSpec,
        { id: 'after', behavior: calm },
      ],
    }),
    { name: 'top' },
  );
}

function lookup(path: string): ActorRef<Work> {
  const ref = system.lookup(path);
  if (ref === undefined) throw new Error(`no actor at ${path}`);
  return ref as ActorRef<Work>;
}

const restartsOf = (path: string) => system.inspect(lookup(path))?.restarts;
const count = (type: SystemEvent['type'], path: string) =>
  events.filter((e) => e.type === type && 'path' in e && e.path === path).length;
const deadLetters = (reason: DeadLetter['reason'], recipient: ActorRef<Work>) =>
  events.filter((e) => e.type === 'DeadLetter' && e.reason === reason && e.recipient === recipient.path)
    .length;

/** Tells `STORM` work messages to the current `flaky`, lets the tree react, returns that ref. */
async function storm(): Promise<ActorRef<Work>> {
  const target = lookup('/user/top/mid/flaky');
  for (let n = 0; n < STORM; n++) target.tell({ type: 'work', n });
  await settle(system);
  return target;
}

describe('restart storm with escalation (virtual time)', () => {
  it('escalates exactly once per window; the tree above recovers per its strategy, then gives up past its own intensity', async () => {
    tree();
    const steady = lookup('/user/top/steady');
    const mid = lookup('/user/top/mid');
    const after = lookup('/user/top/after');

    // Window 1 (t = 0).
    const first = await storm();
    expect(system.inspect(first)).toMatchObject({
      status: 'stopped',
      received: STORM,
      failed: MID.maxRestarts + 1,
      processed: 0,
      restarts: MID.maxRestarts,
      mailboxDepth: 0,
    });
    expect(deadLetters('failed', first)).toBe(MID.maxRestarts + 1);
    expect(deadLetters('stopped', first)).toBe(STORM - MID.maxRestarts - 1); // still queued when mid gave up
    expect(count('ActorRestarted', first.path)).toBe(MID.maxRestarts);
    expect(count('SupervisorEscalated', mid.path)).toBe(1);
    // top restarted mid in place (same ref) and, restForOne, `after` too; `steady` was untouched.
    expect(lookup('/user/top/mid')).toBe(mid);
    expect([restartsOf(steady.path), restartsOf(mid.path), restartsOf(after.path)]).toEqual([0, 1, 1]);
    const second = lookup('/user/top/mid/flaky');
    expect(second).not.toBe(first); // the restarted mid started a fresh child
    expect(system.inspect(second)).toMatchObject({ status: 'running', restarts: 0, received: 0 });

    // Window 2: time moves past both windows; the same storm is again exactly one escalation.
    clock.advance(TOP.withinMs);
    await storm();
    expect(system.inspect(second)).toMatchObject({
      status: 'stopped',
      failed: MID.maxRestarts + 1,
      restarts: MID.maxRestarts,
    });
    expect(count('SupervisorEscalated', mid.path)).toBe(2);
    expect(count('SupervisorEscalated', '/user/top')).toBe(0);
    expect([restartsOf(steady.path), restartsOf(mid.path), restartsOf(after.path)]).toEqual([0, 2, 2]);

    // Still window 2 for top: a third escalation is one restart too many for it.
    const third = await storm();
    expect(system.inspect(third)).toMatchObject({ status: 'stopped', failed: MID.maxRestarts + 1 });
    expect(count('SupervisorEscalated', mid.path)).toBe(3);
    expect(count('SupervisorEscalated', '/user/top')).toBe(1);
    const escalated = events.filter((e) => e.type === 'SupervisorEscalated');
    expect(escalated.map((e) => e.path)).toEqual([mid.path, mid.path, mid.path, '/user/top']);
    for (const e of escalated) expect(e.error).toBeInstanceOf(RestartIntensityError);

    // top stopped with its whole subtree, children before parents: the child that exited first,
    // then the others in reverse start order.
    expect(system.lookup('/user/top')).toBeUndefined();
    for (const ref of [steady, mid, after]) expect(system.inspect(ref)?.status).toBe('stopped');
    const lastStops = events
      .filter((e) => e.type === 'ActorStopped')
      .slice(-4)
      .map((e) => (e as { path: string }).path);
    expect(lastStops).toEqual([mid.path, after.path, steady.path, '/user/top']);
    const topStopped = events.find((e) => e.type === 'ActorStopped' && e.path === '/user/top');
    expect(topStopped).toMatchObject({ reason: { type: 'error', error: expect.any(RestartIntensityError) } });

    // Every flaky incarnation failed exactly maxRestarts + 1 times per storm: the rest were dead
    // letters, never handled, never lost.
    const failed = events.filter(
      (e) => e.type === 'DeadLetter' && e.reason === 'failed' && e.error instanceof FlakyError,
    );
    expect(failed).toHaveLength(3 * (MID.maxRestarts + 1));
    expect(system.deadLetters).toBe(3 * STORM);

    // The rest of the system is unharmed (onEscalation 'report').
    const other = system.spawn(
      receive<null, Ping>(null, (s, m, ctx) => {
        ctx.reply(m.replyTo, { type: 'pong' });
        return s;
      }),
    );
    await expect(other.ask((replyTo) => ({ type: 'ping', replyTo }))).resolves.toEqual({ type: 'pong' });
    clock.advance(10_000); // past the ask's timeout, so the shared ask timer is gone too
    expect(clock.pending).toBe(0);
  });

  it('a sibling restarted while its async handler is in flight: that message is one stopped dead letter, the queued ones are processed', async () => {
    // oneForAll: when `crasher` fails, `busy` is taken down and restarted too, in the middle of
    // a 100 ms job. Its mailbox is kept; the abandoned job is accounted for exactly once.
    const done: number[] = [];
    const busy = receive<{ alive: boolean }, Work>(
      { alive: true },
      async (s, m, ctx) => {
        await sleep(ctx.clock, 100);
        if (s.alive) done.push(m.n); // an abandoned handler's late end changes nothing
        return s;
      },
      {
        onStart: () => ({ alive: true }),
        onRestart: (s) => {
          s.alive = false;
        },
      },
    );
    system.spawn(
      supervisor({
        strategy: 'oneForAll',
        intensity: MID,
        children: [
          { id: 'busy', behavior: busy },
          { id: 'crasher', behavior: flaky },
        ],
      }),
      { name: 'sup' },
    );
    const ref = lookup('/user/sup/busy');
    for (let n = 0; n < 3; n++) ref.tell({ type: 'work', n });
    await settle(system); // job 0 in flight, jobs 1 and 2 queued
    lookup('/user/sup/crasher').tell({ type: 'work', n: 99 });
    await settle(system);
    expect(system.inspect(ref)).toMatchObject({ restarts: 1, received: 3, processed: 0, mailboxDepth: 1 });
    for (let t = 0; t < 300; t += 10) {
      clock.advance(10);
      await settle(system);
    }
    expect(done).toEqual([1, 2]);
    expect(system.inspect(ref)).toMatchObject({ received: 3, processed: 2, mailboxDepth: 0 });
    const dead = events.filter((e) => e.type === 'DeadLetter' && e.recipient === ref.path);
    expect(dead).toEqual([
      { type: 'DeadLetter', reason: 'stopped', message: { type: 'work', n: 0 }, recipient: ref.path },
    ]);
  });

  it('a child that fails on a timer forever: each incarnation of mid escalates once, top gives up after its budget, no timer is left', async () => {
    // The child fails 10 ms after each start, on the clock: a storm that never ends by itself.
    const ticking = receive<null, { type: 'tick' }>(
      null,
      () => {
        throw new FlakyError('tick');
      },
      {
        onStart: (ctx) => {
          ctx.timers.startSingle('fail', { type: 'tick' }, 10);
          return null;
        },
      },
    );
    const mid = () =>
      supervisor({ strategy: 'oneForOne', intensity: MID, children: [{ id: 'flaky', behavior: ticking }] });
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 2, withinMs: 1000 },
        children: [{ id: 'mid', start: mid } as ChildSpec],
      }),
      { name: 'top' },
    );
    let t = 0;
    while (t < 1000 && system.lookup('/user/top') !== undefined) {
      clock.advance(1);
      t++;
      await settle(system);
    }
    // Each mid incarnation: 4 failures (10 ms apart) = 3 restarts + 1 escalation. top restarts
    // mid twice (its budget), and gives up at the third escalation, at t = 3 × 40 ms.
    expect(t).toBe(120);
    expect(count('SupervisorEscalated', '/user/top/mid')).toBe(3);
    expect(count('SupervisorEscalated', '/user/top')).toBe(1);
    expect(count('ActorRestarted', '/user/top/mid')).toBe(2);
    expect(count('ActorRestarted', '/user/top/mid/flaky')).toBe(3 * MID.maxRestarts);
    expect(count('ActorFailed', '/user/top/mid/flaky')).toBe(3 * (MID.maxRestarts + 1));
    expect(system.lookup('/user/top')).toBeUndefined();
    expect(clock.pending).toBe(0); // every timer of every incarnation was cancelled
  });
});
