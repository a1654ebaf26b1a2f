/*
 * THE RULES (read before changing anything here)
 *
 * status       running → suspended    exitNow() under a supervisor, or a sibling's group restart
 *                                      (suspend()); mail keeps queuing, nothing is processed
 *              suspended → running    restart(): same ref, same mailbox, a fresh incarnation
 *              running → stopping     stopGracefully(): mailbox closed, drain, then children
 *              any → stopping → stopped  terminate(), in one synchronous call
 * busy         an async start, an async handler, pending ctx.sends or a pause holds the next
 *              message; run() takes none. Set in awaitReady/afterHandle/awaitPendingSends/
 *              startPause, cleared by resume(),
 *              exitNow() and stopIncarnation().
 * scheduled    set only by Dispatcher.schedule, cleared only by its drain. kick() is the one
 *              place the cell asks to be scheduled.
 * incarnation  `instance` is the current incarnation. Every async continuation captures it and
 *              drops its outcome if a restart or stop replaced it. `restarts` numbers the
 *              incarnations: an exit request names the one it targets.
 * system lane  drained before user mail (Mailbox); a stop ends the turn.
 * accounting   every message that entered the mailbox (received) ends exactly once: processed,
 *              failed, unhandled, evicted, cancelled (a stale timer), dead-lettered, or is still
 *              queued / in flight. The auditor of the test kit checks this for every test.
 * guards       nothing a user supplies may throw through here: handlers and hooks run in
 *              try/catch (a throw is a failure of this actor, or is logged for hooks), and the
 *              dispatcher catches whatever escapes run() and fails the actor (crashed()).
 *
 * The cell keeps the state; each concern is its own file in this folder, as Pekko splits its
 * ActorCell into `dungeon/`: invoke.ts (the run loop, untraced and traced), faults.ts (failure
 * and the restart protocol), lifecycle.ts (start, stop, the graceful stop), children.ts,
 * death-watch.ts, mailbox.ts (the two lanes), rare.ts (what idle actors never allocate); the
 * keyed timers are ../timers.ts. Only those files write the cell's state.
 */

import { BoundedQueue } from '../../channel/bounded-queue.js';
import type { QueueConsumer } from '../../channel/queue-channel.js';
import type { Logger } from '../../logger.js';
import type { Clock } from '../../time/clock.js';
import type { ActorContext } from '../actor-context.js';
import type { ActorAddress, ActorRef, Message } from '../actor-ref.js';
import type { ActorStats, ActorStatus, ActorTreeNode } from '../actor-stats.js';
import type { Behavior, BehaviorInstance, BehaviorSource, Lifecycle, SupervisedChild } from '../behavior.js';
import { isBehavior, isRawMachine } from '../behavior.js';
import type { Runnable } from '../dispatcher.js';
import type { DeadLetterReason } from '../events.js';
import { type ExitReason, NORMAL, SHUTDOWN, validateExitReason } from '../exit-reason.js';
import { isForeignRef } from '../foreign-ref.js';
import type { Host } from '../host.js';
import { LocalRef, TracedLocalRef } from '../local-ref.js';
import {
  type ResolvedSpawnOptions,
  resolveSpawnOptions,
  type SpawnOptions,
  validateDuration,
} from '../spawn-options.js';
import type { SystemView } from '../system-view.js';
import { TimerMessage, TimerScheduler, type TimerState, type Timers } from '../timers.js';
import type { TracedMessage, Tracing } from '../tracing.js';
import { untraced } from '../tracing.js';
import { Children } from './children.js';
import { type DeathWatch, unwatch, unwatchForeign, watch, watchForeign } from './death-watch.js';
import { fail, restart, suspend } from './faults.js';
import { invoke, invokeTraced, run } from './invoke.js';
import { requestStop, startIncarnation, stopGracefully, terminate } from './lifecycle.js';
import { Mailbox, type SystemMessage } from './mailbox.js';
import { Rare } from './rare.js';

/**
 * The mailbox entries: user messages, timer envelopes checked for staleness on dequeue, and
 * (tracing on) messages with the trace context they were sent in.
 */
export type Entry<M extends Message> = M | TimerMessage<M> | TracedMessage<M>;

/**
 * One actor: its mailbox, its current behaviour incarnation, its children, and its counters.
 * It is also the `ActorContext` handed to the behaviour (as Pekko's ActorCell is). Restarting
 * replaces only the incarnation: ref and mailbox stay. The fields are the state the concern
 * files of this folder share (see THE RULES above); only they and the cell write them.
 *
 * @internal Not exported from the package.
 */
export class ActorCell<M extends Message>
  implements ActorContext<M>, Lifecycle, Runnable, QueueConsumer, SupervisedChild
{
  readonly self: ActorRef<M>;
  readonly mailbox: Mailbox<Entry<M>>;
  status: ActorStatus = 'running';
  scheduled = false;
  busy = false;
  /** Set by `ctx.unhandled()` during a handler; reset before every message. */
  markedUnhandled = false;

  received = 0;
  processed = 0;
  failed = 0;
  unhandledCount = 0;
  dropped = 0;
  restarts = 0;

  instance: BehaviorInstance<M> | null = null;
  childCells: Children | null = null;
  pendingSends: Promise<void>[] | null = null;
  /** The message whose async handler has not settled yet (null when none). */
  inFlight: unknown = null;
  private cachedPath: string | null = null;
  private cachedId: string | null = null;
  /** What most actors never need, allocated on first use so idle actors stay small. */
  rare: Rare<M> | null = null;
  readonly throughput: number;
  /** How long a graceful stop waits for the mailbox to drain before stopping hard. */
  readonly shutdownMs: number;

  constructor(
    readonly host: Host,
    readonly parentCell: ActorCell<Message> | null,
    readonly name: string,
    /** Where incarnations come from: a behaviour, or a factory called at each (re)start. */
    public source: BehaviorSource<M>,
    options: ResolvedSpawnOptions,
  ) {
    const tracing = host.tracing;
    this.self = tracing === null ? new LocalRef<M>(this) : new TracedLocalRef<M>(this, tracing);
    const overflow = options.overflow;
    const onDrop = overflow === 'block' ? undefined : (e: Entry<M>) => this.onPolicyDrop(e);
    this.mailbox = new Mailbox<Entry<M>>(
      new BoundedQueue<Entry<M>>(options.capacity, { overflow, onDrop }),
      this,
    );
    this.throughput = options.throughput;
    this.shutdownMs = options.shutdownMs;
    host.created(this);
  }

  // ---- identity -------------------------------------------------------------------------

  /** Made on first use: most actors are never asked for their id, and ids cost time and memory. */
  get id(): string {
    this.cachedId ??= this.host.ids();
    return this.cachedId;
  }

  get extras(): Rare<M> {
    this.rare ??= new Rare<M>();
    return this.rare;
  }

  /** Why it stopped (`shutdown` while it has not). */
  get exitReason(): ExitReason {
    return this.rare?.exitReason ?? SHUTDOWN;
  }

  get path(): string {
    if (this.cachedPath === null) {
      const parent = this.parentCell;
      this.cachedPath = parent === null ? '' : `${parent.path}/${this.name}`;
    }
    return this.cachedPath;
  }

  get parent(): ActorRef<Message> {
    return (this.parentCell ?? (this as unknown as ActorCell<Message>)).self;
  }

  get system(): SystemView {
    return this.host.system;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  get log(): Logger {
    const rare = this.extras;
    rare.logger ??= this.host.log.child({ actor: this.path });
    return rare.logger;
  }

  get timers(): Timers<M> {
    const rare = this.extras;
    rare.timers ??= new TimerScheduler<M>(
      this.host.clock,
      (envelope) => this.deliverTimer(envelope),
      (error) => this.crashed(error),
      this.host.tracing === null ? null : () => (this.host.tracing as Tracing).capture(),
    );
    return rare.timers;
  }

  /** Lifecycle: the keyed timers as a persistent behaviour saves and restores them. */
  get timerState(): TimerState {
    return this.timers as TimerScheduler<M>;
  }

  /** @internal Death-watch state (created on first use). */
  get deathWatch(): DeathWatch {
    return this.extras.watch;
  }

  /** @internal Death-watch state if any. */
  peekDeathWatch(): DeathWatch | null {
    return this.rare?.deathWatch ?? null;
  }

  get children(): readonly ActorCell<Message>[] {
    return this.childCells === null ? [] : this.childCells.list();
  }

  child(name: string): ActorCell<Message> | undefined {
    return this.childCells?.get(name);
  }

  /** A child stopped: forget it. */
  forgetChild(child: ActorCell<Message>): void {
    this.childCells?.remove(child);
  }

  /** Whether it takes messages: running, or draining before a graceful stop. */
  get active(): boolean {
    return this.status === 'running' || this.status === 'stopping';
  }

  /** Whether this actor's behaviour supervises its children (answers their exits). */
  get supervises(): boolean {
    return this.instance?.supervise !== undefined && this.status === 'running';
  }

  /** A snapshot of this actor's counters. */
  stats(): ActorStats {
    const rare = this.rare;
    return {
      path: this.path,
      id: this.id,
      status: this.status,
      received: this.received,
      processed: this.processed,
      failed: this.failed,
      unhandled: this.unhandledCount,
      dropped: this.dropped,
      evicted: rare?.evicted ?? 0,
      cancelled: rare?.cancelled ?? 0,
      deadLettered: rare?.deadLettered ?? 0,
      inFlight: this.inFlight === null ? 0 : 1,
      mailboxDepth: this.mailbox.queue.length,
      mailboxCapacity: this.mailbox.queue.capacity,
      mailboxOverflow: this.mailbox.queue.overflow,
      restarts: this.restarts,
    };
  }

  /** A serializable snapshot of this actor and its subtree. */
  tree(): ActorTreeNode {
    let details: unknown;
    try {
      details = this.instance?.describe?.();
    } catch (error) {
      details = { error: String(error) };
    }
    return {
      ...this.stats(),
      name: this.name,
      kind: this.instance?.supervise !== undefined ? 'supervisor' : 'worker',
      ...(details === undefined ? {} : { details }),
      children: this.children.map((child) => child.tree()),
    };
  }

  // ---- lifecycle (see lifecycle.ts, faults.ts) ------------------------------------------

  /** Starts the first incarnation; a throw (from a factory, the behaviour or its afterStart) is a failed start. */
  start(): void {
    if (startIncarnation(this)) this.host.publishStarted(this);
  }

  /** See `requestStop` in lifecycle.ts. */
  requestStop(reason: ExitReason, timeoutMs = this.shutdownMs): Promise<void> {
    return requestStop(this, reason, timeoutMs);
  }

  /** See `stopGracefully` in lifecycle.ts. */
  stopGracefully(reason: ExitReason, timeoutMs = this.shutdownMs): Promise<void> {
    return stopGracefully(this, reason, timeoutMs);
  }

  /** Stops now (see `terminate` in lifecycle.ts). */
  terminate(reason: ExitReason): void {
    terminate(this, reason);
  }

  /** SupervisedChild: restart in place (see `restart` in faults.ts). */
  restart(reason: ExitReason, source?: BehaviorSource<Message>): void {
    restart(this, reason, source);
  }

  /** SupervisedChild: end the incarnation, keep ref and mailbox, until `restart`. */
  suspend(reason: ExitReason): void {
    suspend(this, reason);
  }

  /** Lifecycle: a supervisor gave up (restart intensity exceeded). */
  escalate(error: unknown): void {
    this.host.publishEscalated(this, error);
    fail(this, error, undefined);
  }

  /** Lifecycle: the behaviour failed outside a handler (e.g. an invoked promise of a machine). */
  failAsync(error: unknown): void {
    fail(this, error, undefined);
  }

  /** Runnable: something escaped `run()` (a supervisor's decision, a throwing clock): a failure of this actor. */
  crashed(error: unknown): void {
    if (this.active) fail(this, error, undefined);
    else this.log.error({ err: error }, 'actor crashed while stopping');
  }

  // ---- the actor context -----------------------------------------------------------------

  spawn<C extends Message>(behavior: Behavior<C>, options: SpawnOptions = {}): ActorRef<C> {
    if (!isBehavior(behavior)) throw new TypeError(notABehavior(behavior));
    return this.spawnChild(behavior, options).self;
  }

  /** Lifecycle: a supervisor's child, started from a factory so that a throwing factory is a failed start. */
  spawnSupervised(source: () => Behavior<Message>, options: SpawnOptions): SupervisedChild {
    return this.spawnChild(source, options);
  }

  /** @internal */
  spawnChild<C extends Message>(source: BehaviorSource<C>, options: SpawnOptions): ActorCell<C> {
    if (this.status !== 'running')
      throw new TypeError(`cannot spawn from ${this.path}: it is ${this.status}`);
    const resolved = resolveSpawnOptions(options);
    this.childCells ??= new Children();
    const name = this.childCells.claim(resolved.name, this.path);
    const cell = newCell<C>(this.host, this as unknown as ActorCell<Message>, name, source, resolved);
    this.childCells.add(cell as unknown as ActorCell<Message>);
    cell.start();
    return cell;
  }

  stop(ref?: ActorAddress): void {
    if (ref === undefined || ref === this.self) {
      this.exit(NORMAL);
      return;
    }
    const target = LocalRef.cellOf(ref);
    if (target === undefined || target.parentCell !== (this as unknown as ActorCell<Message>)) {
      throw new TypeError(`${this.path} can only stop itself or its children; ${ref.path} is neither`);
    }
    void target.stopGracefully(SHUTDOWN);
  }

  exit(reason: ExitReason): void {
    const checked = validateExitReason(reason);
    if (this.status === 'running') {
      this.enqueueSystem({ kind: 'exit', reason: checked, incarnation: this.restarts });
    }
  }

  watch(ref: ActorAddress): void {
    const target = LocalRef.cellOf(ref);
    if (target !== undefined) watch(this as unknown as ActorCell<Message>, target);
    else if (isForeignRef(ref)) watchForeign(this as unknown as ActorCell<Message>, ref);
    else throw new TypeError(`cannot watch ${String(ref?.path)}: not an actor of this system`);
  }

  unwatch(ref: ActorAddress): void {
    const target = LocalRef.cellOf(ref);
    if (target !== undefined) unwatch(this as unknown as ActorCell<Message>, target);
    else if (isForeignRef(ref)) unwatchForeign(this as unknown as ActorCell<Message>, ref);
  }

  send<T extends Message>(ref: ActorRef<T>, message: T): void {
    if (ref === (this.self as unknown as ActorRef<T>) || this.instance === null) {
      // Waiting for room in one's own mailbox would never end; and from a stop or restart hook
      // (the incarnation is already over) there is no next message to hold back: a tell.
      ref.tell(message);
      return;
    }
    const r = ref.trySend(message);
    if (r.ok || r.reason !== 'full') {
      if (!r.ok && r.reason === 'closed') this.host.deadLetter('stopped', message, ref.path);
      return;
    }
    const pending = ref.send(message).catch(() => this.host.deadLetter('stopped', message, ref.path));
    this.pendingSends ??= [];
    this.pendingSends.push(pending);
  }

  unhandled(): void {
    this.markedUnhandled = true;
  }

  pause(ms: number): void {
    this.extras.pauseMs = validateDuration(ms, 'pause ms');
  }

  reply<R extends Message>(replyTo: ActorRef<R>, message: R): void {
    replyTo.tell(message);
  }

  // ---- the mailbox ----------------------------------------------------------------------

  /** QueueConsumer: a message was queued. */
  wake(): void {
    this.received++;
    if (!this.scheduled && !this.busy) this.host.dispatcher.schedule(this);
  }

  /** @internal Puts a system message in the system lane. */
  enqueueSystem(message: SystemMessage): void {
    this.mailbox.pushSystem(message);
    this.kick();
  }

  /** Asks the dispatcher to run this actor if it has work and may take it now. */
  kick(): void {
    if (this.scheduled || this.busy || !this.active) return;
    if (this.mailbox.queue.length > 0 || this.mailbox.hasSystem || this.status === 'stopping') {
      this.host.dispatcher.schedule(this);
    }
  }

  /** Runnable: one turn (see invoke.ts). */
  run(): number {
    return run(this);
  }

  /** Hands one mailbox entry to the behaviour; a {@link TracedActorCell} traces it instead. */
  invoke(entry: Entry<M>): void {
    invoke(this, entry);
  }

  private deliverTimer(envelope: TimerMessage<M>): void {
    if (this.status !== 'running') return;
    const r = this.mailbox.trySend(envelope);
    if (!r.ok && r.reason === 'full') this.drop(envelope.message);
  }

  private onPolicyDrop(entry: Entry<M>): void {
    // dropNewest refuses the arriving message (never received); dropOldest and latest evict a
    // queued one (received, so it is accounted as evicted).
    if (this.mailbox.queue.overflow !== 'dropNewest') this.extras.evicted++;
    this.drop(entry instanceof TimerMessage ? entry.message : untraced(entry));
  }

  /**
   * A full mailbox turned `message` away (a `tell` under `block`) or its policy discarded it:
   * counted, published as `MessageDropped`, and as a dead letter (`mailboxFull` / `dropped`).
   */
  drop(message: unknown): void {
    this.dropped++;
    const policy = this.mailbox.queue.overflow;
    this.host.publishDropped(this, message, policy);
    this.deadLetter(policy === 'block' ? 'mailboxFull' : 'dropped', message);
  }

  /** @internal Publishes a dead letter addressed to this actor. */
  deadLetter(reason: DeadLetterReason, message: unknown, error?: unknown): void {
    this.host.deadLetter(reason, message, this.path, error);
  }

  /** A received message that will never be handled: a dead letter, and accounted as one. */
  abandon(reason: DeadLetterReason, message: unknown): void {
    this.extras.deadLettered++;
    this.deadLetter(reason, message);
  }
}

/**
 * A cell of a system that traces: the same cell, whose `invoke` makes each handling a span.
 * A subclass, so that with tracing off the run loop stays exactly as it was (one class of
 * cell, nothing to check per message).
 *
 * @internal
 */
class TracedActorCell<M extends Message> extends ActorCell<M> {
  override invoke(entry: Entry<M>): void {
    invokeTraced(this, entry);
  }
}

/** @internal A new cell for `host`: a {@link TracedActorCell} when the system traces. */
export function newCell<M extends Message>(
  host: Host,
  parentCell: ActorCell<Message> | null,
  name: string,
  source: BehaviorSource<M>,
  options: ResolvedSpawnOptions,
): ActorCell<M> {
  return host.tracing === null
    ? new ActorCell<M>(host, parentCell, name, source, options)
    : new TracedActorCell<M>(host, parentCell, name, source, options);
}

function notABehavior(value: unknown): string {
  return isRawMachine(value)
    ? 'spawn: got a raw XState machine; wrap it with fromMachine(machine)'
    : 'spawn: behavior must come from receive() or fromMachine()';
}
