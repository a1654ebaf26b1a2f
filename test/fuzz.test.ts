/**
 * Fuzz: random sequences of public API calls, good and bad, on a `VirtualClock`.
 *
 * fast-check generates programs of spawn, tell, trySend, send, ask, stop, watch, crash,
 * subscribe, unsubscribe, publish, shutdown, supervisor start/stop/restart/children, abort and
 * clock moves — with bad inputs mixed in (non-object messages, unknown types, bad spawn and
 * send options, negative and non-finite timeouts, messages to stopped actors, bad child specs).
 * After every program, and after every step where it is cheap, these hold:
 * - nothing reaches the process: no `unhandledRejection`, no `uncaughtException`;
 * - every call returns, or throws/rejects with a typed error: `TypeError`, `RangeError`,
 *   `ActorStoppedError`, `AskTimeoutError`, `MessageDroppedError`, `RestartIntensityError`,
 *   or the `AbortError` of a signal the program itself aborted; and every promise settles;
 * - counters stay consistent: for each actor `received >= processed + failed + unhandled`,
 *   and `system.deadLetters` equals the number of `DeadLetter` events seen;
 * - every message the program sent to a worker or supervisor has exactly one fate: handled,
 *   one dead letter, or handed back to the caller (a refused `trySend`, a rejected `send`) —
 *   where a message whose async handler a hard stop or restart abandoned counts as its dead
 *   letter (see `abandoned`); an ask's request has at most one (a request still waiting for
 *   room when its ask times out is withdrawn); a late reply is a `lateReply` dead letter
 *   exactly when its ask timed out and was answered.
 */
import { Topic, type TopicMessage, topic } from '@troupe/actors';
import {
  type ActorAddress,
  type ActorRef,
  ActorStoppedError,
  ActorSystem,
  AskTimeoutError,
  type Behavior,
  type ChildSpec,
  type Message,
  MessageDroppedError,
  mpsc,
  RestartIntensityError,
  receive,
  type SpawnOptions,
  type Strategy,
  Supervisor,
  type SupervisorMessage,
  supervisor,
} from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { size, timeLimit } from './support/soak.js';
import { sleep } from './support/time.js';

// ---- process-level problems ---------------------------------------------------------------

const escaped: unknown[] = [];
const onEscape = (reason: unknown) => escaped.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterAll(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  expect(escaped).toEqual([]);
});

// ---- the world a program runs in ----------------------------------------------------------

type Work = { readonly type: 'work'; readonly id: number };
type Crash = { readonly type: 'crash'; readonly id: number };
type Answer = { readonly type: 'answer'; readonly id: number };
type Question = { readonly type: 'question'; readonly id: number; readonly replyTo: ActorRef<Answer> };
type WatchRequest = { readonly type: 'watch'; readonly ref: ActorAddress };
type WorkerMsg = Work | Crash | Question | WatchRequest;

type Kind = 'quick' | 'slow' | 'forwarder' | 'badStart' | 'supervisor' | 'topic';
interface Entry {
  readonly ref: ActorRef<Message>;
  readonly kind: Kind;
}

/** Whether an error is one of the typed outcomes the API promises. */
function typed(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ActorStoppedError ||
    error instanceof AskTimeoutError ||
    error instanceof MessageDroppedError ||
    error instanceof RestartIntensityError ||
    (error instanceof DOMException && error.name === 'AbortError') // a signal we aborted
  );
}

class World {
  readonly clock = new VirtualClock();
  readonly system: ActorSystem;
  readonly entries: Entry[] = [];
  /** Fates of the messages we track, by id. */
  readonly fates = new Map<number, string[]>();
  /** What each tracked id is: a plain message, or the request of an ask. */
  readonly tracked = new Map<number, 'message' | 'ask'>();
  /** Ids sent to an actor whose handler is async (its handler may be abandoned by a hard stop). */
  readonly toAsync = new Set<number>();
  readonly askOutcome = new Map<number, string>();
  readonly lateReplies = new Set<number>();
  readonly problems: string[] = [];
  readonly controllers: AbortController[] = [];
  deadLetterEvents = 0;
  invalidDeadLetters = 0;
  invalidTells = 0;
  pending = 0;
  private nextId = 1;

  constructor() {
    this.system = ActorSystem.start({ name: 'fuzz', clock: this.clock, askTimeoutMs: 100 });
    this.system.events.subscribe((e) => {
      if (e.type !== 'DeadLetter') return;
      this.deadLetterEvents++;
      if (e.reason === 'invalid') this.invalidDeadLetters++;
      const m = e.message as { type?: unknown; id?: unknown } | null;
      if (m === null || typeof m !== 'object' || typeof m.id !== 'number') return;
      if (e.reason === 'lateReply' && m.type === 'answer') this.lateReplies.add(m.id);
      else this.fate(m.id, `dead:${e.reason}`);
    });
  }

  /** A fresh id, tracked (or not: messages to a topic fan out, so they have no single fate). */
  id(kind: 'message' | 'ask' | null): number {
    const id = this.nextId++;
    if (kind !== null) this.tracked.set(id, kind);
    return id;
  }

  fate(id: number, what: string): void {
    if (!this.tracked.has(id)) return;
    const list = this.fates.get(id);
    if (list === undefined) this.fates.set(id, [what]);
    else list.push(what);
  }

  /** Runs a synchronous call: it returns, or throws TypeError/RangeError. */
  call<T>(label: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof RangeError)) {
        this.problems.push(`${label} threw ${String(error)}`);
      }
      return undefined;
    }
  }

  /** Follows a promise: it must settle, and reject only with a typed error. */
  follow<T>(label: string, promise: Promise<T>, onOk?: (value: T) => void, onError?: (e: unknown) => void) {
    this.pending++;
    promise.then(
      (value) => {
        this.pending--;
        onOk?.(value);
      },
      (error: unknown) => {
        this.pending--;
        if (!typed(error)) this.problems.push(`${label} rejected with ${String(error)}`);
        onError?.(error);
      },
    );
  }

  add(ref: ActorRef<Message> | undefined, kind: Kind): void {
    if (ref !== undefined && !this.entries.some((e) => e.ref === ref)) this.entries.push({ ref, kind });
  }

  pick(index: number, filter?: (e: Entry) => boolean): Entry | undefined {
    const pool = filter === undefined ? this.entries : this.entries.filter(filter);
    return pool.length === 0 ? undefined : pool[index % pool.length];
  }

  /** Adds the children of a supervisor (as they are now) to the pool. */
  addChildrenOf(sup: ActorRef<Message>): void {
    for (const [id, kind] of [
      ['a', 'quick'],
      ['b', 'slow'],
      ['c', 'quick'],
    ] as const) {
      this.add(this.system.lookup(`${sup.path}/${id}`), kind);
    }
  }

  /** Checks the counters of every actor in the pool. */
  checkCounters(when: string): void {
    for (const { ref } of this.entries) {
      const s = this.system.inspect(ref);
      if (s === undefined) continue;
      if (s.received < s.processed + s.failed + s.unhandled) {
        this.problems.push(
          `${when}: ${ref.path} received ${s.received} < processed ${s.processed} + failed ${s.failed} + unhandled ${s.unhandled}`,
        );
      }
    }
    if (this.system.deadLetters !== this.deadLetterEvents) {
      this.problems.push(
        `${when}: deadLetters ${this.system.deadLetters} != events ${this.deadLetterEvents}`,
      );
    }
  }
}

// ---- behaviours ---------------------------------------------------------------------------

/**
 * A worker: handles work and questions (after `delayMs` of virtual time if > 0), throws on
 * crash, watches on request. Its state is per incarnation; a continuation of a handler that a
 * restart or hard stop abandoned sees `alive === false` and does nothing (the runtime has
 * already dead-lettered that message).
 */
function worker(world: World, delayMs: number, forwardTo?: () => ActorRef<Message> | undefined) {
  type State = { alive: boolean };
  const end = (s: State) => {
    s.alive = false;
  };
  return receive<State, WorkerMsg>(
    { alive: true },
    (s, m, ctx) => {
      if (m.type === 'crash') throw new Error(`crash ${m.id}`);
      if (m.type === 'watch') {
        ctx.watch(m.ref);
        return s;
      }
      const done = () => {
        if (typeof m.id === 'number') world.fate(m.id, 'handled');
        if (m.type === 'question') ctx.reply(m.replyTo, { type: 'answer', id: m.id });
        const to = forwardTo?.();
        if (m.type === 'work' && to !== undefined) {
          const id = world.id('message');
          world.toAsync.add(id); // forwarded to a slow worker
          ctx.send(to as ActorRef<WorkerMsg>, { type: 'work', id });
        }
      };
      if (delayMs === 0) {
        done();
        return s;
      }
      return sleep(world.clock, delayMs).then(() => {
        if (s.alive) done();
        return s;
      });
    },
    { onStart: () => ({ alive: true }), onStop: end, onRestart: end, onTerminated: (s) => s },
  );
}

function behaviourOf(world: World, kind: Kind, strategy: Strategy = 'oneForAll'): Behavior<Message> {
  switch (kind) {
    case 'quick':
      return worker(world, 0) as Behavior<Message>;
    case 'slow':
      return worker(world, 5) as Behavior<Message>;
    case 'forwarder':
      return worker(world, 0, () => world.pick(0, (e) => e.kind === 'slow')?.ref) as Behavior<Message>;
    case 'badStart':
      return receive<null, Message>(null, (s) => s, {
        onStart: () => {
          throw new TypeError('bad start');
        },
      });
    case 'supervisor':
      return supervisor({
        strategy,
        intensity: { maxRestarts: 2, withinMs: 50 },
        children: [
          { id: 'a', behavior: behaviourOf(world, 'quick') },
          { id: 'b', behavior: behaviourOf(world, 'slow'), restart: 'transient', mailbox: { capacity: 2 } },
          { id: 'c', behavior: behaviourOf(world, 'quick'), restart: 'temporary' },
        ],
      }) as Behavior<Message>;
    case 'topic':
      return topic<Work>() as Behavior<Message>;
    default:
      return kind satisfies never;
  }
}

// ---- the program ------------------------------------------------------------------------

const KINDS: readonly Kind[] = ['quick', 'slow', 'forwarder', 'badStart', 'supervisor', 'topic'];
const STRATEGIES: readonly Strategy[] = ['oneForOne', 'oneForAll', 'restForOne'];

/** Spawn options, good and bad (by index, so each run builds fresh objects). */
const SPAWN_OPTIONS: readonly ((n: number) => unknown)[] = [
  () => undefined,
  () => ({}),
  (n) => ({ name: `n${n}` }),
  () => ({ name: 'dup' }),
  () => ({ name: '$reserved' }),
  () => ({ name: '' }),
  () => ({ name: 42 }),
  () => ({ mailbox: { capacity: 0 } }),
  () => ({ mailbox: { capacity: 1.5 } }),
  () => ({ mailbox: { capacity: -1 } }),
  () => ({ mailbox: { overflow: 'bogus' } }),
  () => ({ mailbox: { capacity: 1, overflow: 'dropNewest' } }),
  () => ({ mailbox: { capacity: 2, overflow: 'dropOldest' } }),
  () => ({ mailbox: { capacity: 3, overflow: 'latest' } }),
  () => ({ mailbox: { capacity: 1 } }),
  () => ({ throughput: 0 }),
  () => ({ shutdownMs: -1 }),
  () => ({ shutdownMs: Number.NaN }),
  () => null,
];

/** Message shapes: 0 work, 1 crash, 2 an unknown type, 3+ not a message at all. */
const BAD_MESSAGES: readonly unknown[] = [null, undefined, 42, 'text', {}, { type: 5 }, [], true];
const MESSAGE_KINDS = 3 + BAD_MESSAGES.length;

/** Ask timeouts, good and bad. */
const TIMEOUTS: readonly unknown[] = [
  undefined,
  0,
  1,
  5,
  20,
  50,
  200,
  null,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '10',
];

/** Child specs for startChild, good and bad (#1 is a slow worker, #2 fails at start). */
const SPECS: readonly ((world: World, n: number) => unknown)[] = [
  (w, n) => ({ id: `k${n}`, behavior: behaviourOf(w, 'quick') }),
  (w, n) => ({ id: `s${n}`, behavior: behaviourOf(w, 'slow'), restart: 'transient' }),
  (w, n) => ({ id: `x${n}`, behavior: behaviourOf(w, 'badStart') }),
  (w) => ({ id: 'a', behavior: behaviourOf(w, 'quick') }), // duplicate
  () => ({ id: 'nobehaviour' }),
  (w) => ({ id: 'r', behavior: behaviourOf(w, 'quick'), restart: 'sometimes' }),
  (w) => ({ id: 'd', behavior: behaviourOf(w, 'quick'), shutdownMs: -1 }),
  (w) => ({ id: '$x', behavior: behaviourOf(w, 'quick') }),
  () => ({ id: 'ghost', start: () => 42 }), // start() does not return a behaviour
  (w) => ({ id: 'ghost', behavior: behaviourOf(w, 'quick') }),
  () => null,
];
const CHILD_IDS: readonly unknown[] = ['a', 'b', 'c', 'ghost', 'zzz', 42, null];

/** Send options: none, an aborted signal, a signal the program may abort later, bad ones. */
const WAITS = ['none', 'empty', 'aborted', 'abortable', 'badString', 'badObject', 'null'] as const;

/** Topic subscribe options, good and bad. */
const SUB_OPTIONS: readonly unknown[] = [
  {},
  { onFull: 'drop' },
  { onFull: 'block' },
  { onFull: 'bogus' },
  { filter: ['work'] },
  { filter: 'work' },
  { filter: () => true },
];

/** Events to publish: 0 a good one, then bad ones. */
const EVENTS: readonly unknown[] = [null, 42, { type: '$topic.subscribe' }, { type: '$topic.stats' }];

type Op =
  | { op: 'spawn'; kind: number; options: number; strategy: number }
  | { op: 'tell' | 'trySend'; target: number; msg: number }
  | { op: 'flood'; target: number; count: number }
  | { op: 'send'; target: number; msg: number; wait: number }
  | { op: 'ask'; target: number; timeout: number; build: number }
  | { op: 'stop' | 'crash' | 'unsubscribe'; target: number }
  | { op: 'watch'; watcher: number; target: number }
  | { op: 'subscribe'; target: number; options: number }
  | { op: 'publish'; event: number; send: boolean }
  | { op: 'shutdown'; timeout: number }
  | { op: 'startChild'; sup: number; spec: number }
  | { op: 'stopChild' | 'restartChild'; sup: number; id: number }
  | { op: 'children'; sup: number }
  | { op: 'abort'; which: number }
  | { op: 'advance'; ms: number }
  | { op: 'settle' }
  | { op: 'read'; path: number };

const nat = fc.nat({ max: 1000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('spawn'), kind: nat, options: nat, strategy: nat }) },
  { weight: 18, arbitrary: fc.record({ op: fc.constantFrom('tell', 'trySend'), target: nat, msg: nat }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('flood'), target: nat, count: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 12, arbitrary: fc.record({ op: fc.constant('send'), target: nat, msg: nat, wait: nat }) },
  { weight: 12, arbitrary: fc.record({ op: fc.constant('ask'), target: nat, timeout: nat, build: nat }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('stop', 'crash', 'unsubscribe'), target: nat }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('watch'), watcher: nat, target: nat }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('subscribe'), target: nat, options: nat }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('publish'), event: nat, send: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('shutdown'), timeout: nat }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('startChild'), sup: nat, spec: nat }) },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constantFrom('stopChild', 'restartChild'), sup: nat, id: nat }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('children'), sup: nat }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('abort'), which: nat }) },
  { weight: 9, arbitrary: fc.record({ op: fc.constant('advance'), ms: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 9, arbitrary: fc.constant({ op: 'settle' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('read'), path: nat }) },
) as fc.Arbitrary<Op>;

/** The message a program sends to a worker (tracked), or a bad value (untracked). */
function message(world: World, shape: number, target: Entry): unknown {
  const k = shape % MESSAGE_KINDS;
  if (k >= 3) return BAD_MESSAGES[k - 3];
  const id = world.id(target.kind === 'topic' ? null : 'message');
  if (target.kind === 'slow') world.toAsync.add(id);
  return { type: (['work', 'crash', 'unknown'] as const)[k], id };
}

function waitOptions(world: World, which: number): unknown {
  switch (WAITS[which % WAITS.length]) {
    case 'none':
      return undefined;
    case 'empty':
      return {};
    case 'aborted':
      return { signal: AbortSignal.abort() };
    case 'abortable': {
      const controller = new AbortController();
      world.controllers.push(controller);
      return { signal: controller.signal };
    }
    case 'badString':
      return { signal: 'bogus' };
    case 'badObject':
      return { signal: {} };
    default:
      return null;
  }
}

const supervisors = (e: Entry) => e.kind === 'supervisor';
const topics = (e: Entry) => e.kind === 'topic';
// A topic is never subscribed to a topic: a cycle of topics republishes forever (see report).
const subscribers = (e: Entry) => e.kind !== 'topic';

async function step(world: World, o: Op, n: number): Promise<void> {
  const { system } = world;
  switch (o.op) {
    case 'spawn': {
      const kind = KINDS[o.kind % KINDS.length] as Kind;
      const options = (SPAWN_OPTIONS[o.options % SPAWN_OPTIONS.length] as (n: number) => unknown)(n);
      const strategy = STRATEGIES[o.strategy % STRATEGIES.length];
      const ref = world.call('spawn', () =>
        system.spawn(behaviourOf(world, kind, strategy), options as SpawnOptions),
      );
      world.add(ref, kind);
      if (ref !== undefined && kind === 'supervisor') world.addChildrenOf(ref);
      return;
    }
    case 'tell':
    case 'trySend': {
      const target = world.pick(o.target);
      if (target === undefined) return;
      const m = message(world, o.msg, target);
      const id = (m as { id?: number } | null)?.id;
      if (o.op === 'tell') {
        if (id === undefined) world.invalidTells++;
        target.ref.tell(m as Message);
        return;
      }
      const r = world.call('trySend', () => target.ref.trySend(m as Message));
      if (r !== undefined && !r.ok && r.reason !== 'dropped' && id !== undefined) world.fate(id, 'returned');
      return;
    }
    case 'flood': {
      // A burst of work without yielding: mailboxes fill up, senders start to wait.
      const target = world.pick(o.target);
      if (target === undefined) return;
      for (let i = 0; i < o.count; i++) target.ref.tell(message(world, 0, target) as Message);
      return;
    }
    case 'send': {
      const target = world.pick(o.target);
      if (target === undefined) return;
      const m = message(world, o.msg, target);
      const id = (m as { id?: number } | null)?.id;
      const options = waitOptions(world, o.wait);
      world.follow('send', target.ref.send(m as Message, options as never), undefined, () => {
        if (id !== undefined) world.fate(id, 'returned');
      });
      return;
    }
    case 'ask': {
      const target = world.pick(o.target);
      if (target === undefined) return;
      const id = world.id(target.kind === 'topic' ? null : 'ask');
      if (target.kind === 'slow') world.toAsync.add(id);
      const timeoutMs = TIMEOUTS[o.timeout % TIMEOUTS.length];
      const good = (replyTo: ActorRef<Answer>) => ({ type: 'question', id, replyTo });
      const build = [good, good, good, () => null, 42][o.build % 5];
      world.askOutcome.set(id, 'pending');
      world.follow(
        'ask',
        target.ref.ask(build as never, { timeoutMs } as never),
        (answer) => {
          world.askOutcome.set(id, (answer as Answer).id === id ? 'resolved' : 'wrong answer');
        },
        (error) => world.askOutcome.set(id, error instanceof AskTimeoutError ? 'timeout' : 'rejected'),
      );
      return;
    }
    case 'stop': {
      const target = world.pick(o.target);
      if (target !== undefined) system.stop(target.ref);
      return;
    }
    case 'crash': {
      const target = world.pick(o.target);
      if (target !== undefined)
        target.ref.tell({
          type: 'crash',
          id: world.id(target.kind === 'topic' ? null : 'message'),
        } as Message);
      return;
    }
    case 'watch': {
      const watcher = world.pick(o.watcher);
      const target = world.pick(o.target);
      if (watcher !== undefined && target !== undefined)
        watcher.ref.tell({ type: 'watch', ref: target.ref } as Message);
      return;
    }
    case 'subscribe':
    case 'unsubscribe': {
      const bus = world.pick(o.target, topics);
      const subscriber = world.pick(o.target >> 3, subscribers);
      if (bus === undefined || subscriber === undefined) return;
      const topicRef = bus.ref as ActorRef<TopicMessage<Work>>;
      const call =
        o.op === 'subscribe'
          ? () =>
              Topic.subscribe(
                topicRef,
                subscriber.ref as never,
                SUB_OPTIONS[o.options % SUB_OPTIONS.length] as never,
              )
          : () => Topic.unsubscribe(topicRef, subscriber.ref as never);
      world.follow(o.op, call());
      return;
    }
    case 'publish': {
      const bus = world.pick(o.event, topics);
      if (bus === undefined) return;
      const topicRef = bus.ref as ActorRef<TopicMessage<Work>>;
      const k = o.event % (EVENTS.length + 1);
      const event = k === 0 ? { type: 'work', id: world.id(null) } : EVENTS[k - 1];
      const isMessage = event !== null && typeof event === 'object';
      if (o.send) world.follow('publish(send)', topicRef.send(event as Work));
      else {
        if (!isMessage) world.invalidTells++;
        world.call('publish', () => Topic.publish(topicRef, event as Work));
      }
      return;
    }
    case 'shutdown': {
      const timeoutMs = [undefined, 0, 50, -1][o.timeout % 4];
      const shutdown = world.call('shutdown', () => system.shutdown({ timeoutMs } as never));
      if (shutdown !== undefined) world.follow('shutdown', shutdown);
      return;
    }
    case 'startChild': {
      const sup = world.pick(o.sup, supervisors);
      if (sup === undefined) return;
      const which = o.spec % SPECS.length;
      const spec = (SPECS[which] as (w: World, n: number) => unknown)(world, n);
      const kind: Kind = which === 1 ? 'slow' : which === 2 ? 'badStart' : 'quick';
      world.follow(
        'startChild',
        Supervisor.startChild(sup.ref as ActorRef<SupervisorMessage>, spec as ChildSpec),
        (ref) => world.add(ref, kind),
      );
      return;
    }
    case 'stopChild':
    case 'restartChild': {
      const sup = world.pick(o.sup, supervisors);
      if (sup === undefined) return;
      const id = CHILD_IDS[o.id % CHILD_IDS.length] as string;
      const ref = sup.ref as ActorRef<SupervisorMessage>;
      if (o.op === 'stopChild') world.follow('stopChild', Supervisor.stopChild(ref, id));
      else
        world.follow('restartChild', Supervisor.restartChild(ref, id), (child) =>
          world.add(child, id === 'b' ? 'slow' : 'quick'),
        );
      return;
    }
    case 'children': {
      const sup = world.pick(o.sup, supervisors);
      if (sup !== undefined)
        world.follow('children', Supervisor.children(sup.ref as ActorRef<SupervisorMessage>));
      return;
    }
    case 'abort':
      world.controllers[o.which % Math.max(1, world.controllers.length)]?.abort();
      return;
    case 'advance':
      world.clock.advance(o.ms);
      return;
    case 'settle':
      await settle(system);
      return;
    case 'read': {
      const target = world.pick(o.path);
      const paths: unknown[] = [target?.ref.path, '/user', 'user', '', 42, null, '/user/nope/deeper'];
      const path = paths[o.path % paths.length];
      world.call('lookup', () => system.lookup(path as string));
      world.call('inspect', () =>
        system.inspect((o.path % 2 === 0 ? target?.ref : { path }) as ActorAddress),
      );
      world.call('tree', () => JSON.stringify(system.tree()));
      return;
    }
    default:
      return o satisfies never;
  }
}

/**
 * A hard stop (or restart) abandons an async handler in flight: its message becomes a dead
 * letter even when the handler's own code had just finished, before the runtime saw its
 * promise settle. Such a message reads `handled` then `dead:stopped`/`dead:shutdown`; its
 * fate is the dead letter. Any other second fate is a bug.
 */
function abandoned(fates: string[], asyncHandler: boolean): string[] {
  const [first, second, ...rest] = fates;
  if (asyncHandler && first === 'handled' && (second === 'dead:stopped' || second === 'dead:shutdown'))
    return [second, ...rest];
  return fates;
}

/** Runs a program, shuts the system down, and checks every invariant. */
async function run(program: readonly Op[]): Promise<void> {
  const world = new World();
  const { system, clock } = world;
  for (const kind of ['quick', 'slow', 'forwarder', 'supervisor', 'topic'] as const) {
    const ref = system.spawn(
      behaviourOf(world, kind),
      kind === 'slow' ? { name: 'dup', mailbox: { capacity: 2 } } : {},
    );
    world.add(ref, kind);
    if (kind === 'supervisor') world.addChildrenOf(ref);
  }
  const escapedBefore = escaped.length;

  for (let i = 0; i < program.length; i++) {
    await step(world, program[i] as Op, i);
    world.checkCounters(`after step ${i} (${(program[i] as Op).op})`);
  }

  // End: settle, shut down (the program's own shutdown, if it started one with a valid
  // timeout), and let every clock-driven thing finish.
  await settle(system);
  let stopped = false;
  void system.shutdown().then(() => {
    stopped = true;
  });
  for (let i = 0; i < 200 && !stopped; i++) {
    clock.advance(100);
    await settle(system);
  }
  if (!stopped) world.problems.push('shutdown did not resolve');
  for (let i = 0; i < 5; i++) {
    clock.advance(10_000); // abandoned handlers' sleeps, ask timers
    await settle(system);
  }
  world.checkCounters('at the end');

  if (world.pending > 0) world.problems.push(`${world.pending} promises never settled`);
  for (const [id, kind] of world.tracked) {
    const raw = world.fates.get(id) ?? [];
    const fates = abandoned(raw, world.toAsync.has(id));
    if (kind === 'message') {
      if (fates.length !== 1) world.problems.push(`message ${id}: fates ${JSON.stringify(raw)}`);
      continue;
    }
    // An ask's request: at most one fate (none when it was never sent, or withdrawn on timeout).
    const outcome = world.askOutcome.get(id);
    const answered = raw[0] === 'handled';
    if (fates.length > 1) world.problems.push(`ask ${id}: fates ${JSON.stringify(raw)}`);
    if (outcome === 'resolved' && !answered)
      world.problems.push(`ask ${id} resolved, fates ${JSON.stringify(raw)}`);
    if (outcome === 'wrong answer' || outcome === 'pending') world.problems.push(`ask ${id}: ${outcome}`);
    // A late reply is a lateReply dead letter exactly when the ask timed out and was answered.
    const late = outcome === 'timeout' && answered;
    if (late !== world.lateReplies.has(id))
      world.problems.push(`ask ${id}: ${outcome}, fates ${JSON.stringify(raw)}, lateReply ${!late}`);
  }
  if (world.invalidDeadLetters !== world.invalidTells)
    world.problems.push(
      `invalid tells ${world.invalidTells} != invalid dead letters ${world.invalidDeadLetters}`,
    );
  if (escaped.length > escapedBefore)
    world.problems.push(`escaped to the process: ${String(escaped.at(-1))}`);
  expect(world.problems).toEqual([]);
}

describe('what the fuzz found, pinned as plain tests', () => {
  const quick = receive<null, Message>(null, (s) => s);

  it('counters: a Terminated an actor handles is received too; a failure at start is not a failed message', async () => {
    const system = ActorSystem.start({ name: 'pinned', clock: new VirtualClock() });
    const target = system.spawn(quick);
    const handles = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.watch(target);
          return null;
        },
        onTerminated: (s) => s,
      }),
    );
    const ignores = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: (ctx) => {
          ctx.watch(target);
          return null;
        },
      }),
    );
    const badStart = system.spawn(
      receive<null, Message>(null, (s) => s, {
        onStart: () => {
          throw new TypeError('bad start');
        },
      }),
    );
    system.stop(target);
    await settle(system);
    expect(system.inspect(handles)).toMatchObject({ received: 1, processed: 1, unhandled: 0 });
    expect(system.inspect(ignores)).toMatchObject({ received: 1, processed: 0, unhandled: 1 });
    expect(system.inspect(badStart)).toMatchObject({ status: 'stopped', received: 0, failed: 0 });
    await system.shutdown();
  });

  it('send with a signal that is not an AbortSignal rejects with TypeError and queues nothing, even on a full mailbox', async () => {
    const system = ActorSystem.start({ name: 'pinned', clock: new VirtualClock() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: number[] = [];
    const ref = system.spawn(
      receive<null, Work>(null, async (s, m) => {
        await gate;
        handled.push(m.id);
        return s;
      }),
      { mailbox: { capacity: 1 } },
    );
    await expect(ref.send({ type: 'work', id: 0 }, { signal: 'bogus' } as never)).rejects.toThrow(TypeError);
    ref.tell({ type: 'work', id: 1 }); // in the handler
    await settle(system);
    ref.tell({ type: 'work', id: 2 }); // queued: the mailbox is full
    await expect(ref.send({ type: 'work', id: 3 }, { signal: {} } as never)).rejects.toThrow(TypeError);
    release();
    await settle(system); // the dispatcher keeps running
    expect(handled).toEqual([1, 2]);
    await system.shutdown();

    // The channels share the waiting code: the same misuse of an mpsc sender changes nothing.
    const [tx, rx] = mpsc<number>(1);
    tx.trySend(1);
    await expect(tx.send(2, { signal: 'bogus' } as never)).rejects.toThrow(TypeError);
    expect(await rx.recv()).toEqual({ ok: true, value: 1 });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('a message a supervisor does not understand is an unhandled dead letter', async () => {
    const system = ActorSystem.start({ name: 'pinned', clock: new VirtualClock() });
    const reasons: string[] = [];
    system.events.subscribe((e) => {
      if (e.type === 'DeadLetter') reasons.push(e.reason);
    });
    const sup = system.spawn(
      supervisor({ strategy: 'oneForOne', intensity: { maxRestarts: 1, withinMs: 10 }, children: [] }),
    );
    (sup as unknown as ActorRef<Message>).tell({ type: 'work' });
    await settle(system);
    expect(reasons).toEqual(['unhandled']);
    expect(system.inspect(sup)).toMatchObject({ received: 1, processed: 0, unhandled: 1 });
    await system.shutdown();
  });

  it('a startChild that fails to start the child leaves no trace: the id can be used again', async () => {
    const system = ActorSystem.start({ name: 'pinned', clock: new VirtualClock() });
    const sup = system.spawn(
      supervisor({ strategy: 'oneForOne', intensity: { maxRestarts: 1, withinMs: 10 }, children: [] }),
    );
    await expect(Supervisor.startChild(sup, { id: 'ghost', start: () => 42 as never })).rejects.toThrow(
      TypeError,
    );
    await expect(Supervisor.restartChild(sup, 'ghost')).rejects.toThrow(/no child with id "ghost"/);
    const ref = await Supervisor.startChild(sup, { id: 'ghost', behavior: quick });
    expect(ref.path).toBe(`${sup.path}/ghost`);
    expect((await Supervisor.children(sup)).map((c) => c.id)).toEqual(['ghost']);
    await system.shutdown();
  });

  it('Topic.publish of an event typed like a control message is a TypeError; the topic keeps running', async () => {
    const system = ActorSystem.start({ name: 'pinned', clock: new VirtualClock() });
    const bus = system.spawn(topic<Work>());
    expect(() => Topic.publish(bus, { type: '$topic.subscribe' } as never)).toThrow(TypeError);
    await settle(system);
    expect(system.inspect(bus)?.status).toBe('running');
    await expect(Topic.stats(bus)).resolves.toMatchObject({ published: 0 });
    await system.shutdown();
  });
});

describe('fuzz: random programs of public API calls, with bad inputs', () => {
  it(
    'never lets an error escape, fails only with typed errors, settles every promise, and keeps every message and counter accounted for',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'large' }), (program) =>
          run(program),
        ),
        { numRuns: size(500, 5_000) },
      );
    },
    timeLimit(60_000, 1_800_000),
  );
});
