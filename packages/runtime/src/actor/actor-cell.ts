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
 */
import type { Context } from '@opentelemetry/api';
import { BoundedQueue } from '../channel/bounded-queue.js';
import type { QueueConsumer } from '../channel/queue-channel.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';
import type { ActorContext } from './actor-context.js';
import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { ActorStats, ActorStatus, ActorTreeNode } from './actor-stats.js';
import type { Behavior, BehaviorInstance, BehaviorSource, Lifecycle, SupervisedChild } from './behavior.js';
import { isBehavior, isRawMachine, UNHANDLED } from './behavior.js';
import { Rare } from './cell-state.js';
import { Children } from './children.js';
import {
  type DeathWatch,
  notifyWatchers,
  takeForeignWatch,
  takeWatch,
  unwatch,
  unwatchForeign,
  watch,
  watchForeign,
} from './death-watch.js';
import type { Runnable } from './dispatcher.js';
import type { DeadLetterReason } from './events.js';
import { type ExitReason, NORMAL, SHUTDOWN, validateExitReason } from './exit-reason.js';
import { isForeignRef } from './foreign-ref.js';
import type { Host } from './host.js';
import { LocalRef, TracedLocalRef } from './local-ref.js';
import { Mailbox, type SystemMessage } from './mailbox.js';
import {
  type ResolvedSpawnOptions,
  resolveSpawnOptions,
  type SpawnOptions,
  validateDuration,
} from './spawn-options.js';
import type { SystemView } from './system-view.js';
import { TimerMessage, TimerScheduler, type Timers } from './timers.js';
import { TracedMessage, type Tracing, untraced } from './tracing.js';

/**
 * The mailbox entries: user messages, timer envelopes checked for staleness on dequeue, and
 * (tracing on) messages with the trace context they were sent in.
 */
type Entry<M extends Message> = M | TimerMessage<M> | TracedMessage<M>;

type Outcome = undefined | typeof UNHANDLED | Promise<unknown>;

/**
 * One actor: its mailbox, its current behaviour incarnation, its children, and its counters.
 * It is also the `ActorContext` handed to the behaviour (as Pekko's ActorCell is). Restarting
 * replaces only the incarnation: ref and mailbox stay. Death watch, children and the mailbox's
 * two lanes live in their own files; the run loop and the incarnation lifecycle stay here,
 * because they share `status`, `busy` and `instance` (see THE RULES above).
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
  private markedUnhandled = false;

  received = 0;
  processed = 0;
  failed = 0;
  unhandledCount = 0;
  dropped = 0;
  restarts = 0;

  private instance: BehaviorInstance<M> | null = null;
  private childCells: Children | null = null;
  private pendingSends: Promise<void>[] | null = null;
  /** The message whose async handler has not settled yet (null when none). */
  private inFlight: unknown = null;
  private cachedPath: string | null = null;
  private cachedId: string | null = null;
  /** What most actors never need, allocated on first use so idle actors stay small. */
  private rare: Rare<M> | null = null;

  constructor(
    readonly host: Host,
    readonly parentCell: ActorCell<Message> | null,
    readonly name: string,
    private source: BehaviorSource<M>,
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

  private readonly throughput: number;
  /** How long a graceful stop waits for the mailbox to drain before stopping hard. */
  readonly shutdownMs: number;

  // ---- identity -------------------------------------------------------------------------

  /** Made on first use: most actors are never asked for their id, and ids cost time and memory. */
  get id(): string {
    this.cachedId ??= this.host.ids();
    return this.cachedId;
  }

  private get extras(): Rare<M> {
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

  // ---- incarnations -----------------------------------------------------------------------

  /** Starts the first incarnation; a throw (from a factory, the behaviour or its afterStart) is a failed start. */
  start(): void {
    if (this.startIncarnation()) this.host.publishStarted(this);
  }

  /**
   * Starts a new incarnation. Returns whether it runs; a throw anywhere in the start (the
   * factory, `behavior.start`, `afterStart`) is a failed start: `ActorFailed` (phase `start`),
   * then an exit its supervisor answers like any other (it counts toward intensity).
   */
  private startIncarnation(): boolean {
    try {
      const source = this.source;
      const behavior = typeof source === 'function' ? source() : source;
      if (!isBehavior(behavior)) {
        throw new TypeError(
          `${this.path}: the child's start() must return a behavior (receive() or fromMachine())`,
        );
      }
      const instance = behavior.start(this, this);
      this.instance = instance;
      instance.afterStart?.();
      if (instance.ready !== undefined) this.awaitReady(instance, instance.ready);
    } catch (error) {
      if (this.active) {
        this.host.publishFailed(this, error, 'start');
        this.exitNow({ type: 'error', error });
      } else this.log.error({ err: error }, 'start failed while stopping');
      return false;
    }
    return this.status === 'running';
  }

  /** An async start (recovery): busy until it resolves; a rejection is a failed start. */
  private awaitReady(instance: BehaviorInstance<M>, ready: Promise<unknown>): void {
    this.busy = true;
    ready.then(
      () => {
        if (this.instance === instance) this.guarded(() => this.resume());
      },
      (error: unknown) => {
        if (this.instance !== instance || !this.active) return;
        this.busy = false;
        this.host.publishFailed(this, error, 'start');
        this.exitNow({ type: 'error', error });
      },
    );
  }

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

  /**
   * A stop request from outside (`system.stop`): under a supervisor it is an exit the
   * supervisor answers (after the current message, forced after `timeoutMs` if a handler never
   * ends); otherwise a graceful stop (drain within `timeoutMs`, then hard). Resolves once the
   * incarnation has ended.
   */
  requestStop(reason: ExitReason, timeoutMs = this.shutdownMs): Promise<void> {
    if (this.status === 'stopped') return Promise.resolve();
    const parent = this.parentCell;
    if (parent === null || !parent.supervises || this.status !== 'running') {
      return this.stopGracefully(reason, timeoutMs);
    }
    const rare = this.extras;
    const ended = new Promise<void>((resolve) => {
      rare.exitWaiters ??= [];
      rare.exitWaiters.push(resolve);
    });
    this.enqueueSystem({ kind: 'exit', reason, incarnation: this.restarts });
    if (rare.exitTimer === undefined) {
      const incarnation = this.restarts;
      rare.exitTimer = this.host.clock.setTimeout(() => {
        rare.exitTimer = undefined;
        // Still the same incarnation, stuck in a handler: abandon its message and exit now.
        if (this.restarts === incarnation && this.status === 'running') this.exitNow(reason);
      }, timeoutMs);
    }
    return ended;
  }

  /** The incarnation ended (exit, failure or stop): release `requestStop` callers and its timer. */
  private settleExit(): void {
    const rare = this.rare;
    if (rare === null) return;
    if (rare.exitTimer !== undefined) this.host.clock.clearTimeout(rare.exitTimer);
    rare.exitTimer = undefined;
    const waiters = rare.exitWaiters;
    rare.exitWaiters = null;
    if (waiters !== null) for (const resolve of waiters) resolve();
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

  // ---- messaging --------------------------------------------------------------------------

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
  private kick(): void {
    if (this.scheduled || this.busy || !this.active) return;
    if (this.mailbox.queue.length > 0 || this.mailbox.hasSystem || this.status === 'stopping') {
      this.host.dispatcher.schedule(this);
    }
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
  private abandon(reason: DeadLetterReason, message: unknown): void {
    this.extras.deadLettered++;
    this.deadLetter(reason, message);
  }

  // ---- processing -------------------------------------------------------------------------

  run(): number {
    if (this.busy || !this.active) return 0;
    const limit = this.throughput;
    const mailbox = this.mailbox;
    const queue = mailbox.queue;
    let n = 0;
    for (;;) {
      if (mailbox.hasSystem) {
        this.runSystemLane();
        if (this.busy || !this.active) return n;
      }
      if (n >= limit || queue.length === 0) break;
      n++;
      this.invoke(mailbox.take());
      if (this.busy || !this.active) return n;
    }
    if (this.status === 'stopping' && queue.length === 0) {
      this.rare?.drained?.();
      return n;
    }
    if (queue.length > 0 && !this.scheduled) this.host.dispatcher.schedule(this);
    return n;
  }

  /** Runnable: something escaped `run()` (a supervisor's decision, a throwing clock): a failure of this actor. */
  crashed(error: unknown): void {
    if (this.active) this.fail(error, undefined);
    else this.log.error({ err: error }, 'actor crashed while stopping');
  }

  /** Hands one mailbox entry to the behaviour (a {@link TracedActorCell} traces it instead). */
  protected invoke(entry: Entry<M>): void {
    let message: M;
    if (entry instanceof TimerMessage) {
      const timers = this.rare?.timers;
      if (timers === undefined || timers === null || !timers.accept(entry)) {
        this.extras.cancelled++;
        return;
      }
      message = entry.message;
    } else {
      message = entry as M; // tracing is off: nothing is wrapped
    }
    this.markedUnhandled = false;
    let result: Outcome;
    try {
      result = (this.instance as BehaviorInstance<M>).handle(message);
    } catch (error) {
      this.markedUnhandled = false;
      this.fail(error, message);
      return;
    }
    this.afterHandle(result, message);
  }

  /** `invoke` with tracing on: the handling is a span, current while the handler runs. */
  protected invokeTraced(entry: Entry<M>): void {
    const tracing = this.host.tracing as Tracing;
    let message: M;
    let parent: Context | undefined;
    if (entry instanceof TimerMessage) {
      const timers = this.rare?.timers;
      if (timers === undefined || timers === null || !timers.accept(entry)) {
        this.extras.cancelled++;
        return;
      }
      message = entry.message;
      parent = entry.context;
    } else if (entry instanceof TracedMessage) {
      message = entry.message;
      parent = entry.context;
    } else {
      message = entry;
    }
    const rare = this.extras;
    const handling = tracing.start(this.path, message, parent);
    rare.handling = handling;
    this.markedUnhandled = false;
    let result: Outcome;
    try {
      result = tracing.run(handling, () => (this.instance as BehaviorInstance<M>).handle(message));
    } catch (error) {
      this.markedUnhandled = false;
      this.fail(error, message);
      if (rare.handling === handling) {
        rare.handling = null;
        handling.fail(error);
      }
      return;
    }
    if (!(result instanceof Promise)) {
      rare.handling = null;
      handling.end(result === UNHANDLED || this.markedUnhandled);
    }
    this.afterHandle(result, message);
  }

  /** Tracing on: the async handler of the message in flight settled (not failed). */
  private endHandling(unhandled: boolean): void {
    const rare = this.rare;
    if (rare === null || rare.handling === null) return;
    rare.handling.end(unhandled);
    rare.handling = null;
  }

  private afterHandle(outcome: Outcome, message: unknown): void {
    let result = outcome;
    if (!(result instanceof Promise)) {
      // Synchronous completion: a ctx.unhandled() during the handler applies now (for an async
      // handler the flag is read when its promise settles).
      if (this.markedUnhandled && result === undefined) result = UNHANDLED;
      this.markedUnhandled = false;
    }
    if (result === undefined) {
      this.processed++;
      this.continueAfter();
    } else if (result === UNHANDLED) {
      this.unhandledCount++;
      this.deadLetter('unhandled', message);
    } else {
      this.busy = true;
      this.inFlight = message;
      const incarnation = this.instance;
      result.then(
        () => {
          if (this.instance !== incarnation || this.inFlight !== message) return;
          this.inFlight = null;
          if (this.rare?.handling != null) this.endHandling(this.markedUnhandled);
          if (this.markedUnhandled) {
            this.markedUnhandled = false;
            this.unhandledCount++;
            this.deadLetter('unhandled', message);
            this.resume();
            return;
          }
          this.processed++;
          this.guarded(() => this.continueAfter(true));
        },
        (error: unknown) => {
          if (this.instance !== incarnation || this.inFlight !== message) return;
          this.inFlight = null;
          this.busy = false;
          this.markedUnhandled = false;
          this.fail(error, message);
        },
      );
    }
  }

  /** After a processed message: wait for pending ctx.sends, then a requested pause, then go on. */
  private continueAfter(resume = false): void {
    if (this.pendingSends !== null) this.awaitPendingSends();
    else if (this.rare !== null && this.rare.pauseMs > 0) this.startPause();
    else if (resume) this.resume();
  }

  /** Runs `work` outside the dispatcher (a promise continuation): whatever it throws fails this actor. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.busy = false;
      this.crashed(error);
    }
  }

  private awaitPendingSends(): void {
    const pending = this.pendingSends as Promise<void>[];
    this.pendingSends = null;
    this.busy = true;
    const incarnation = this.instance;
    Promise.all(pending).then(() => {
      if (this.instance !== incarnation) return;
      this.guarded(() => {
        if (this.rare !== null && this.rare.pauseMs > 0) this.startPause();
        else this.resume();
      });
    });
  }

  /** `ctx.pause`: busy until the clock says so. */
  private startPause(): void {
    const rare = this.extras;
    const ms = rare.pauseMs;
    rare.pauseMs = 0;
    const incarnation = this.instance;
    rare.pauseTimer = this.host.clock.setTimeout(() => {
      rare.pauseTimer = undefined;
      if (this.instance === incarnation) this.resume();
    }, ms);
    this.busy = true;
  }

  /** Whether it takes messages: running, or draining before a graceful stop. */
  private get active(): boolean {
    return this.status === 'running' || this.status === 'stopping';
  }

  private resume(): void {
    this.busy = false;
    this.kick();
  }

  private runSystemLane(): void {
    const mailbox = this.mailbox;
    while (mailbox.hasSystem && !this.busy && this.active) {
      const message = mailbox.shiftSystem();
      if (message.kind === 'exit') {
        if (message.incarnation !== this.restarts) continue; // that incarnation already ended
        this.exitNow(message.reason);
        return;
      }
      if (message.kind === 'childExited') {
        this.superviseChild(message.child, message.reason);
        continue;
      }
      const watched = LocalRef.cellOf(message.signal.ref);
      const self = this as unknown as ActorCell<Message>;
      const still =
        watched === undefined ? takeForeignWatch(self, message.signal.ref) : takeWatch(self, watched);
      if (!still) continue; // unwatched meanwhile
      this.received++; // handed to the behaviour like a message: counted like one
      this.markedUnhandled = false;
      let result: Outcome;
      try {
        result = (this.instance as BehaviorInstance<M>).terminated(message.signal);
      } catch (error) {
        this.markedUnhandled = false;
        this.fail(error, message.signal);
        return;
      }
      this.afterHandle(result, message.signal);
    }
  }

  // ---- failure, exit, restart -------------------------------------------------------------

  /** Lifecycle: the behaviour failed outside a handler (e.g. an invoked promise of a machine). */
  failAsync(error: unknown): void {
    this.fail(error, undefined);
  }

  /**
   * A handler threw or rejected, or the machine errored. The message becomes a dead letter
   * (`failed`) carrying the error; then the incarnation exits with the error, which the
   * parent's supervisor answers (or the actor stops, without one).
   */
  fail(error: unknown, message: unknown): void {
    if (!this.active) return;
    const handling = this.rare?.handling;
    if (handling != null) {
      const rare = this.rare as Rare<M>;
      rare.handling = null;
      rare.failedSpan = handling.fail(error);
    }
    if (message !== undefined) {
      this.failed++; // counts failed messages; a failure outside one is an ActorFailed event only
      this.deadLetter('failed', message, error);
    }
    this.host.publishFailed(this, error, 'running');
    this.exitNow({ type: 'error', error });
  }

  /**
   * This incarnation is over (it failed, or exited). Under a supervisor the actor is
   * suspended — mailbox kept, nothing processed — until the supervisor restarts or stops it;
   * otherwise it stops. While draining for a graceful stop, it just stops.
   */
  private exitNow(reason: ExitReason): void {
    const parent = this.parentCell;
    if (this.status !== 'running' || parent === null || !parent.supervises) {
      this.terminate(reason);
      return;
    }
    const interrupted = this.inFlight;
    this.inFlight = null;
    if (interrupted !== null) this.abandon('stopped', interrupted);
    this.abandonHandling('stopped');
    this.status = 'suspended';
    this.busy = false;
    this.extras.exitReason = reason;
    this.settleExit();
    parent.enqueueSystem({ kind: 'childExited', child: this as unknown as ActorCell<Message>, reason });
  }

  /** Whether this actor's behaviour supervises its children (answers their exits). */
  get supervises(): boolean {
    return this.instance?.supervise !== undefined && this.status === 'running';
  }

  private superviseChild(child: ActorCell<Message>, reason: ExitReason): void {
    if (child.status !== 'suspended') return; // stopped meanwhile
    const instance = this.instance as BehaviorInstance<M>;
    if (instance.supervise === undefined) child.terminate(reason);
    else instance.supervise(child, reason);
  }

  /**
   * Restart in place: the same ref and mailbox (queued messages are kept and processed next),
   * a fresh incarnation from `source` (a behaviour, or a factory called now). The old
   * incarnation's children are stopped, its timers cancelled and its stop hook told it is
   * restarting. A failed start is a failure (`ActorFailed`, phase `start`), not a restart.
   */
  restart(reason: ExitReason, source?: BehaviorSource<Message>): void {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    this.stopIncarnation(reason, true);
    if (source !== undefined) this.source = source as BehaviorSource<M>;
    this.restarts++;
    this.status = 'running';
    const failed = this.rare?.failedSpan;
    if (failed != null) {
      (this.rare as Rare<M>).failedSpan = null;
      this.host.tracing?.restarted(this.path, describeReason(reason), failed);
    }
    if (!this.startIncarnation()) return;
    this.host.publishStarted(this);
    this.host.publishRestarted(this, reason);
    this.kick();
  }

  /** Tracing on: a handler still running when its incarnation ends; its span ends here. */
  private abandonHandling(reason: string): void {
    const rare = this.rare;
    if (rare === null || rare.handling === null) return;
    rare.handling.abandon(reason);
    rare.handling = null;
  }

  /** Ends the incarnation but keeps ref and mailbox, until `restart` (a sibling is restarting). */
  suspend(reason: ExitReason): void {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    this.stopIncarnation(reason, true);
    this.status = 'suspended';
  }

  /** Lifecycle: a supervisor gave up (restart intensity exceeded). */
  escalate(error: unknown): void {
    this.host.publishEscalated(this, error);
    this.fail(error, undefined);
  }

  /**
   * Children (reverse start order), timers, pending sends and the incarnation's stop hook. A
   * message whose async handler is still running is abandoned (its outcome is ignored), so it
   * becomes a dead letter: nothing that was received disappears uncounted. Only a settlement
   * the runtime has seen counts as processed, even if the handler's own code had just ended.
   */
  private stopIncarnation(reason: ExitReason, restarting: boolean): void {
    const interrupted = this.inFlight;
    this.inFlight = null;
    this.markedUnhandled = false;
    if (interrupted !== null) this.abandon(this.host.shuttingDown ? 'shutdown' : 'stopped', interrupted);
    this.abandonHandling(restarting ? 'restarting' : 'stopped');
    const children = this.children;
    for (let i = children.length - 1; i >= 0; i--) (children[i] as ActorCell<Message>).terminate(SHUTDOWN);
    const rare = this.rare;
    if (rare !== null) {
      rare.timers?.cancelAll();
      rare.pauseMs = 0;
      if (rare.pauseTimer !== undefined) this.host.clock.clearTimeout(rare.pauseTimer);
      rare.pauseTimer = undefined;
    }
    this.pendingSends = null;
    this.busy = false;
    const instance = this.instance;
    this.instance = null;
    if (instance === null) return;
    try {
      instance.stop(reason, restarting);
    } catch (error) {
      this.log.error({ err: error }, restarting ? 'restart hook threw' : 'stop hook threw');
    }
    this.host.publishExited(this, reason);
  }

  /**
   * Graceful stop (OTP shutdown): refuse new messages, handle what is queued (the children
   * still run, so what it forwards to them reaches them), then stop the children gracefully in
   * reverse start order, then stop; or stop hard after `timeoutMs` (what is still queued
   * becomes dead letters). Resolves once stopped, however
   * that happens.
   */
  stopGracefully(reason: ExitReason, timeoutMs = this.shutdownMs): Promise<void> {
    if (this.status === 'stopped') return Promise.resolve();
    const rare = this.extras;
    const stopped = new Promise<void>((resolve) => {
      rare.stopWaiters ??= [];
      rare.stopWaiters.push(resolve);
    });
    if (this.status === 'stopping') return stopped; // already draining or stopping
    if (this.status === 'suspended') {
      this.terminate(reason);
      return stopped;
    }
    this.status = 'stopping';
    this.mailbox.close(); // refuse new messages; queued ones stay receivable
    try {
      rare.drainTimer = this.host.clock.setTimeout(() => this.terminate(reason), timeoutMs);
    } catch (error) {
      this.log.error({ err: error }, 'clock.setTimeout threw: stopping without draining');
      this.terminate(reason);
      return stopped;
    }
    // Drain first, while the children still run: what this actor forwards to them while
    // draining (a router, a pipeline stage) reaches them, and they drain it in turn.
    rare.drained = () => {
      rare.drained = null;
      void this.stopChildrenThenTerminate(reason);
    };
    if (!this.busy && this.mailbox.queue.length === 0 && !this.mailbox.hasSystem) rare.drained();
    else this.kick();
    return stopped;
  }

  /** The second half of a graceful stop: each child drains and stops (reverse start order). */
  private async stopChildrenThenTerminate(reason: ExitReason): Promise<void> {
    const children = this.children;
    for (let i = children.length - 1; i >= 0; i--) {
      await (children[i] as ActorCell<Message>).stopGracefully(SHUTDOWN);
    }
    if (!this.extras.terminating && this.status === 'stopping') this.terminate(reason);
  }

  /**
   * Stops now: children first (reverse start order), timers, the mailbox (waiting senders are
   * rejected, queued messages become dead letters), the incarnation's stop hook; then watchers
   * get `Terminated` and the parent forgets this child.
   */
  terminate(reason: ExitReason): void {
    const rare = this.extras;
    if (this.status === 'stopped' || rare.terminating) return;
    rare.terminating = true;
    this.status = 'stopping';
    rare.drained = null;
    this.stopIncarnation(reason, false);
    this.mailbox.close();
    const leftover: DeadLetterReason = this.host.shuttingDown ? 'shutdown' : 'stopped';
    while (this.mailbox.queue.length > 0) {
      const entry = this.mailbox.take();
      if (entry instanceof TimerMessage)
        rare.cancelled++; // cancelled with the timers
      else this.abandon(leftover, untraced(entry));
    }
    this.mailbox.clearSystem();
    this.status = 'stopped';
    rare.exitReason = reason;
    this.busy = false;
    this.parentCell?.childCells?.remove(this as unknown as ActorCell<Message>);
    notifyWatchers(this as unknown as ActorCell<Message>);
    this.host.publishStopped(this, reason);
    if (rare.drainTimer !== undefined) this.host.clock.clearTimeout(rare.drainTimer);
    rare.drainTimer = undefined;
    this.settleExit();
    const waiters = rare.stopWaiters;
    rare.stopWaiters = null;
    if (waiters !== null) for (const resolve of waiters) resolve();
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
}

/**
 * A cell of a system that traces: the same cell, whose `invoke` makes each handling a span.
 * A subclass, so that with tracing off the run loop stays exactly as it was (one class of
 * cell, nothing to check per message).
 *
 * @internal
 */
class TracedActorCell<M extends Message> extends ActorCell<M> {
  protected override invoke(entry: Entry<M>): void {
    this.invokeTraced(entry);
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

/** An exit reason in a span attribute: its type, and the error's message for a failure. */
function describeReason(reason: ExitReason): string {
  if (reason.type !== 'error') return reason.type;
  const error = reason.error;
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}

function notABehavior(value: unknown): string {
  return isRawMachine(value)
    ? 'spawn: got a raw XState machine; wrap it with fromMachine(machine)'
    : 'spawn: behavior must come from receive() or fromMachine()';
}
