import { BoundedQueue } from '../channel/bounded-queue.js';
import { type OverflowPolicy, validateCapacity } from '../channel/overflow.js';
import { QueueChannel, type QueueConsumer } from '../channel/queue-channel.js';
import type { Logger } from '../logger.js';
import type { ActorSystem } from '../system/actor-system.js';
import type { DeadLetterReason } from '../system/events.js';
import type { Clock } from '../time/clock.js';
import type { ActorContext } from './actor-context.js';
import type { ActorAddress, ActorRef, Message } from './actor-ref.js';
import type { ActorStats, ActorStatus, ActorTreeNode } from './actor-stats.js';
import type { Behavior, BehaviorInstance, Lifecycle, Terminated } from './behavior.js';
import { UNHANDLED } from './behavior.js';
import { Rare, type SystemMessage } from './cell-state.js';
import type { Runnable } from './dispatcher.js';
import { type ExitReason, NORMAL, SHUTDOWN } from './exit-reason.js';
import type { Host } from './host.js';
import { LocalRef } from './local-ref.js';
import {
  DEFAULT_MAILBOX_CAPACITY,
  DEFAULT_SHUTDOWN_MS,
  DEFAULT_THROUGHPUT,
  type SpawnOptions,
  validateDuration,
  validateName,
} from './spawn-options.js';
import { TimerMessage, TimerScheduler, type Timers } from './timers.js';

/** Lifecycle of an actor. */
/** The mailbox entries: user messages, and timer envelopes checked for staleness on dequeue. */
type Entry<M extends Message> = M | TimerMessage<M>;

/**
 * One actor: its mailbox (a system lane drained first, and a bounded user lane that is the
 * channels' own `QueueChannel`), its current behaviour incarnation, its children, watchers and
 * timers, and its counters. It is also the `ActorContext` handed to the behaviour (as Akka's
 * ActorCell is). Restarting replaces only the incarnation: ref and mailbox stay.
 *
 * @internal Not exported from the package.
 */
export class ActorCell<M extends Message> implements ActorContext<M>, Lifecycle, Runnable, QueueConsumer {
  readonly self: ActorRef<M>;
  readonly mailbox: QueueChannel<Entry<M>>;
  status: ActorStatus = 'running';
  scheduled = false;
  /** Waiting for an async handler or for pending `ctx.send`s: takes no message meanwhile. */
  busy = false;
  /** Set by `ctx.unhandled()` during a handler. */
  private markedUnhandled = false;

  received = 0;
  processed = 0;
  failed = 0;
  unhandledCount = 0;
  dropped = 0;
  restarts = 0;

  private instance: BehaviorInstance<M> | null = null;
  private systemLane: SystemMessage[] | null = null;
  private childCells: Map<string, ActorCell<Message>> | null = null;
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
    private behavior: Behavior<M>,
    capacity: number,
    overflow: OverflowPolicy | undefined,
    private readonly throughput: number,
    /** How long a graceful stop waits for the mailbox to drain before stopping hard. */
    readonly shutdownMs: number,
  ) {
    this.self = new LocalRef<M>(this);
    const onDrop =
      overflow === undefined || overflow === 'block' ? undefined : (e: Entry<M>) => this.onPolicyDrop(e);
    this.mailbox = new QueueChannel<Entry<M>>(
      new BoundedQueue<Entry<M>>(capacity, { overflow, onDrop }),
      this,
    );
  }

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

  get system(): ActorSystem {
    return this.host.system;
  }

  get log(): Logger {
    const rare = this.extras;
    rare.logger ??= this.host.log.child({ actor: this.path });
    return rare.logger;
  }

  get timers(): Timers<M> {
    const rare = this.extras;
    rare.timers ??= new TimerScheduler<M>(this.host.clock, (envelope) => this.deliverTimer(envelope));
    return rare.timers;
  }

  get children(): readonly ActorCell<Message>[] {
    return this.childCells === null ? [] : [...this.childCells.values()];
  }

  child(name: string): ActorCell<Message> | undefined {
    return this.childCells?.get(name);
  }

  /** A snapshot of this actor's counters. */
  stats(): ActorStats {
    return {
      path: this.path,
      id: this.id,
      status: this.status,
      received: this.received,
      processed: this.processed,
      failed: this.failed,
      unhandled: this.unhandledCount,
      dropped: this.dropped,
      mailboxDepth: this.mailbox.queue.length,
      mailboxCapacity: this.mailbox.queue.capacity,
      mailboxOverflow: this.mailbox.queue.overflow,
      restarts: this.restarts,
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Starts the first incarnation; a throw is a failure at start. */
  start(): void {
    this.host.publishStarted(this);
    this.startIncarnation();
  }

  /** Starts a new incarnation; a throw (from the behaviour or its afterStart) is a failure. */
  private startIncarnation(): void {
    try {
      const instance = this.behavior.start(this, this);
      this.instance = instance;
      instance.afterStart?.();
    } catch (error) {
      this.fail(error, undefined);
    }
  }

  spawn<C extends Message>(behavior: Behavior<C>, options: SpawnOptions = {}): ActorRef<C> {
    if (this.status !== 'running')
      throw new TypeError(`cannot spawn from ${this.path}: it is ${this.status}`);
    return this.spawnChild(behavior, options).self;
  }

  /** @internal */
  spawnChild<C extends Message>(behavior: Behavior<C>, options: SpawnOptions): ActorCell<C> {
    if (behavior === null || typeof behavior !== 'object' || typeof behavior.start !== 'function') {
      throw new TypeError('spawn: behavior must come from receive() or fromMachine()');
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `spawn: options must be an object; got ${options === null ? 'null' : typeof options}`,
      );
    }
    const name =
      options.name === undefined
        ? `$${(this.extras.nextChildName++).toString(36)}`
        : validateName(options.name);
    if (this.childCells?.has(name))
      throw new TypeError(`an actor named "${name}" already exists under ${this.path || '/'}`);
    const mailbox = options.mailbox ?? {};
    const capacity = validateCapacity(mailbox.capacity ?? DEFAULT_MAILBOX_CAPACITY, 'mailbox.capacity');
    const throughput = validateCapacity(options.throughput ?? DEFAULT_THROUGHPUT, 'throughput');
    const shutdownMs = validateDuration(options.shutdownMs ?? DEFAULT_SHUTDOWN_MS, 'shutdownMs');
    const cell = new ActorCell<C>(
      this.host,
      this as unknown as ActorCell<Message>,
      name,
      behavior,
      capacity,
      mailbox.overflow,
      throughput,
      shutdownMs,
    );
    this.childCells ??= new Map();
    this.childCells.set(name, cell as unknown as ActorCell<Message>);
    cell.start();
    return cell;
  }

  stop(ref?: ActorAddress): void {
    if (ref === undefined || ref === this.self) {
      if (this.status === 'running') this.enqueueSystem({ kind: 'stop', reason: NORMAL, exit: true });
      return;
    }
    const target = LocalRef.cellOf(ref);
    if (target === undefined || target.parentCell !== (this as unknown as ActorCell<Message>)) {
      throw new TypeError(`${this.path} can only stop itself or its children; ${ref.path} is neither`);
    }
    target.requestStop(SHUTDOWN, true);
  }

  /**
   * Asks this actor to stop after its current message (system lane). From its parent it stops
   * for good; from anyone else it is an exit its supervisor (if any) answers.
   */
  requestStop(reason: ExitReason, fromParent: boolean): void {
    if (this.status === 'stopped') return;
    if (this.status === 'suspended' && fromParent) this.terminate(reason);
    else if (this.status !== 'suspended') {
      this.enqueueSystem({ kind: 'stop', reason, exit: !fromParent && this.parentCell?.supervises === true });
    }
  }

  watch(ref: ActorAddress): void {
    const target = LocalRef.cellOf(ref);
    if (target === undefined)
      throw new TypeError(`cannot watch ${String(ref?.path)}: not an actor of this system`);
    const me = this as unknown as ActorCell<Message>;
    const rare = this.extras;
    rare.watching ??= new Set();
    rare.watching.add(target);
    if (target.status === 'stopped') {
      this.enqueueSystem({ kind: 'terminated', signal: terminated(target) });
      return;
    }
    const targetRare = target.extras;
    targetRare.watchers ??= new Set();
    targetRare.watchers.add(me);
  }

  unwatch(ref: ActorAddress): void {
    const target = LocalRef.cellOf(ref);
    if (target === undefined) return;
    this.rare?.watching?.delete(target);
    target.rare?.watchers?.delete(this as unknown as ActorCell<Message>);
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

  private enqueueSystem(message: SystemMessage): void {
    this.systemLane ??= [];
    this.systemLane.push(message);
    if (!this.scheduled && !this.busy) this.host.dispatcher.schedule(this);
  }

  private deliverTimer(envelope: TimerMessage<M>): void {
    if (this.status !== 'running') return;
    const r = this.mailbox.trySend(envelope);
    if (!r.ok && r.reason === 'full') this.drop(envelope.message);
  }

  private onPolicyDrop(entry: Entry<M>): void {
    this.drop(entry instanceof TimerMessage ? entry.message : entry);
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

  // ---- processing -------------------------------------------------------------------------

  run(): number {
    if (this.busy || this.status === 'stopped' || this.status === 'suspended') return 0;
    const limit = this.throughput;
    const queue = this.mailbox.queue;
    let n = 0;
    for (;;) {
      if (this.systemLane !== null && this.systemLane.length > 0) {
        this.runSystemLane();
        if (this.busy || !this.active) return n;
      }
      if (n >= limit || queue.length === 0) break;
      n++;
      this.invoke(this.mailbox.take());
      if (this.busy || !this.active) return n;
    }
    if (this.status === 'stopping' && queue.length === 0) {
      this.rare?.drained?.();
      return n;
    }
    if (queue.length > 0 && !this.scheduled) this.host.dispatcher.schedule(this);
    return n;
  }

  private invoke(entry: Entry<M>): void {
    let message: M;
    if (entry instanceof TimerMessage) {
      const timers = this.rare?.timers;
      if (timers === undefined || timers === null || !timers.accept(entry)) return;
      message = entry.message;
    } else {
      message = entry;
    }
    let result: undefined | typeof UNHANDLED | Promise<unknown>;
    try {
      result = (this.instance as BehaviorInstance<M>).handle(message);
    } catch (error) {
      this.fail(error, message);
      return;
    }
    this.afterHandle(result, message);
  }

  private afterHandle(outcome: undefined | typeof UNHANDLED | Promise<unknown>, message: unknown): void {
    let result = outcome;
    if (!(result instanceof Promise)) {
      // Synchronous completion: a ctx.unhandled() during the handler applies now (for an async
      // handler the flag is read when its promise settles).
      if (this.markedUnhandled && result === undefined) result = UNHANDLED;
      this.markedUnhandled = false;
    }
    if (result === undefined) {
      this.processed++;
      if (this.pendingSends !== null) this.awaitPendingSends();
      else if (this.rare !== null && this.rare.pauseMs > 0) this.startPause();
    } else if (result === UNHANDLED) {
      this.unhandledCount++;
      this.deadLetter('unhandled', message);
    } else {
      this.busy = true;
      this.inFlight = message;
      const incarnation = this.instance;
      result.then(
        () => {
          if (this.instance !== incarnation) return;
          this.inFlight = null;
          if (this.markedUnhandled) {
            this.markedUnhandled = false;
            this.unhandledCount++;
            this.deadLetter('unhandled', message);
            this.resume();
            return;
          }
          this.processed++;
          if (this.pendingSends !== null) this.awaitPendingSends();
          else if (this.rare !== null && this.rare.pauseMs > 0) this.startPause();
          else this.resume();
        },
        (error: unknown) => {
          if (this.instance !== incarnation) return;
          this.inFlight = null;
          this.busy = false;
          this.fail(error, message);
        },
      );
    }
  }

  private awaitPendingSends(): void {
    const pending = this.pendingSends as Promise<void>[];
    this.pendingSends = null;
    this.busy = true;
    const incarnation = this.instance;
    Promise.all(pending).then(() => {
      if (this.instance !== incarnation) return;
      if (this.rare !== null && this.rare.pauseMs > 0) this.startPause();
      else this.resume();
    });
  }

  /** `ctx.pause`: busy until the clock says so. */
  private startPause(): void {
    const rare = this.extras;
    const ms = rare.pauseMs;
    rare.pauseMs = 0;
    this.busy = true;
    const incarnation = this.instance;
    rare.pauseTimer = this.host.clock.setTimeout(() => {
      rare.pauseTimer = undefined;
      if (this.instance === incarnation) this.resume();
    }, ms);
  }

  /** Whether it takes messages: running, or draining before a graceful stop. */
  private get active(): boolean {
    return this.status === 'running' || this.status === 'stopping';
  }

  private resume(): void {
    this.busy = false;
    if (!this.active || this.scheduled) return;
    if (this.status === 'stopping') {
      this.host.dispatcher.schedule(this); // finish draining, or notice the mailbox is empty
      return;
    }
    if (this.mailbox.queue.length > 0 || (this.systemLane !== null && this.systemLane.length > 0)) {
      this.host.dispatcher.schedule(this);
    }
  }

  private runSystemLane(): void {
    const lane = this.systemLane as SystemMessage[];
    while (lane.length > 0 && !this.busy && this.active) {
      const message = lane.shift() as SystemMessage;
      if (message.kind === 'stop') {
        if (message.exit) this.exit(message.reason);
        else this.terminate(message.reason);
        return;
      }
      if (message.kind === 'childExited') {
        this.superviseChild(message.child, message.reason);
        continue;
      }
      const watched = LocalRef.cellOf(message.signal.ref);
      if (watched === undefined || this.rare?.watching?.delete(watched) !== true) continue; // unwatched meanwhile
      this.received++; // handed to the behaviour like a message: counted like one
      let result: undefined | typeof UNHANDLED | Promise<unknown>;
      try {
        result = (this.instance as BehaviorInstance<M>).terminated(message.signal);
      } catch (error) {
        this.fail(error, message.signal);
        return;
      }
      this.afterHandle(result, message.signal);
    }
  }

  // ---- failure and stop -------------------------------------------------------------------

  get clock(): Clock {
    return this.host.clock;
  }

  /** Lifecycle: the behaviour failed outside a handler (e.g. an invoked promise of a machine). */
  failAsync(error: unknown): void {
    this.fail(error, undefined);
  }

  /**
   * A handler threw or rejected, or the machine errored. The message becomes a dead letter
   * (`failed`) carrying the error; the parent decides what happens next (for now: stop).
   */
  fail(error: unknown, message: unknown): void {
    if (!this.active) return;
    if (message !== undefined) {
      this.failed++; // counts failed messages; a failure outside one is an ActorFailed event only
      this.deadLetter('failed', message, error);
    }
    this.host.publishFailed(this, error);
    this.exit({ type: 'error', error });
  }

  /**
   * This incarnation is over (it failed, or stopped itself). Under a supervisor the actor is
   * suspended — mailbox kept, nothing processed — until the supervisor restarts or stops it;
   * otherwise it stops. While draining for a graceful stop, it just stops.
   */
  exit(reason: ExitReason): void {
    const parent = this.parentCell;
    if (this.status !== 'running' || parent === null || !parent.supervises) {
      this.terminate(reason);
      return;
    }
    this.status = 'suspended';
    this.busy = false;
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
   * a fresh incarnation. The old incarnation's children are stopped, its timers cancelled and
   * its stop hook told it is restarting; then the behaviour starts again from scratch.
   */
  restart(reason: ExitReason, behavior?: Behavior<M>): void {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    this.stopIncarnation(reason, true);
    if (behavior !== undefined) this.behavior = behavior;
    this.restarts++;
    this.status = 'running';
    this.host.publishRestarted(this, reason);
    this.startIncarnation();
    if (this.status !== 'running') return;
    if (this.mailbox.queue.length > 0 || (this.systemLane !== null && this.systemLane.length > 0)) {
      if (!this.scheduled) this.host.dispatcher.schedule(this);
    }
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
    if (interrupted !== null) this.deadLetter(this.host.shuttingDown ? 'shutdown' : 'stopped', interrupted);
    const children = this.children;
    for (let i = children.length - 1; i >= 0; i--) (children[i] as ActorCell<Message>).terminate(SHUTDOWN);
    this.rare?.timers?.cancelAll();
    if (this.rare !== null) {
      this.rare.pauseMs = 0;
      if (this.rare.pauseTimer !== undefined) this.host.clock.clearTimeout(this.rare.pauseTimer);
      this.rare.pauseTimer = undefined;
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
  }

  /**
   * Graceful stop (OTP shutdown): refuse new messages, stop children gracefully in reverse
   * start order, then handle what is queued; stop once the mailbox is empty, or hard after
   * `timeoutMs` (what is still queued becomes dead letters). Resolves once stopped, however
   * that happens.
   */
  stopGracefully(reason: ExitReason, timeoutMs = this.shutdownMs): Promise<void> {
    if (this.status === 'stopped') return Promise.resolve();
    const stopped = new Promise<void>((resolve) => {
      const rare = this.extras;
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
    this.extras.drainTimer = this.host.clock.setTimeout(() => this.terminate(reason), timeoutMs);
    const children = this.children;
    (async () => {
      for (let i = children.length - 1; i >= 0; i--) {
        await (children[i] as ActorCell<Message>).stopGracefully(SHUTDOWN);
      }
      if (this.extras.terminating || this.status !== 'stopping') return;
      this.extras.drained = () => this.terminate(reason);
      if (!this.busy && !this.scheduled) this.host.dispatcher.schedule(this);
    })();
    return stopped;
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
      if (entry instanceof TimerMessage) continue; // cancelled with the timers
      this.deadLetter(leftover, entry);
    }
    this.systemLane = null;
    this.status = 'stopped';
    rare.exitReason = reason;
    this.busy = false;
    this.parentCell?.childCells?.delete(this.name);
    const signal = terminated(this as unknown as ActorCell<Message>);
    if (rare.watchers !== null)
      for (const watcher of rare.watchers) watcher.enqueueSystem({ kind: 'terminated', signal });
    rare.watchers = null;
    if (rare.watching !== null) {
      for (const target of rare.watching)
        target.rare?.watchers?.delete(this as unknown as ActorCell<Message>);
    }
    rare.watching = null;
    this.host.publishStopped(this, reason);
    if (rare.drainTimer !== undefined) this.host.clock.clearTimeout(rare.drainTimer);
    const waiters = rare.stopWaiters;
    rare.stopWaiters = null;
    if (waiters !== null) for (const resolve of waiters) resolve();
  }

  /** A serializable snapshot of this actor and its subtree. */
  tree(): ActorTreeNode {
    const details = this.instance?.describe?.();
    return {
      ...this.stats(),
      name: this.name,
      kind: this.instance?.supervise !== undefined ? 'supervisor' : 'worker',
      ...(details === undefined ? {} : { details }),
      children: this.children.map((child) => child.tree()),
    };
  }
}

function terminated(cell: ActorCell<Message>): Terminated {
  return { type: 'Terminated', ref: cell.self, reason: cell.exitReason };
}
