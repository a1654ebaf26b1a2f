import type { ActorAddress, ActorRef, Message } from '../actor/actor-ref.js';
import type { ActorStats, ActorTreeNode } from '../actor/actor-stats.js';
import { type Behavior, receive } from '../actor/behavior.js';
import { type ActorCell, newCell } from '../actor/cell/actor-cell.js';
import { type ClusterEvent, type DeadLetterReason, EventStream, type SystemEvent } from '../actor/events.js';
import { SHUTDOWN } from '../actor/exit-reason.js';
import { LocalRef } from '../actor/local-ref.js';
import type { SpawnOptions } from '../actor/spawn-options.js';
import type { SystemView } from '../actor/system-view.js';
import { resolveTracing, type TracingOptions } from '../actor/tracing.js';
import { type IdGenerator, nanoIds } from '../ids.js';
import { defaultLogger, type Logger } from '../logger.js';
import { OptionChecks } from '../options.js';
import { type Clock, systemClock } from '../time/clock.js';
import { guardIds, guardLogger, validateClock, validateIds, validateLogger } from './guards.js';
import { SystemHost } from './system-host.js';

/** Options of {@link ActorSystem.start}. */
export interface ActorSystemOptions {
  /** Names the system in logs. */
  readonly name: string;
  /**
   * A pino logger for the system and its actors. Default: JSON lines on stderr at
   * `TROUPE_LOG_LEVEL` (default `warn`), silent under a test runner; see {@link defaultLogger}.
   */
  readonly logger?: Logger;
  /** Where all time comes from (default: the real clock). Tests pass a `VirtualClock`. */
  readonly clock?: Clock;
  /** Makes actor ids (default: nanoid). Tests pass `sequentialIds()`. */
  readonly ids?: IdGenerator;
  /** Default `ask` timeout in ms (default 5000). */
  readonly askTimeoutMs?: number;
  /**
   * What the root does when a top-level actor fails for good (a top-level supervisor that
   * exceeded its restart intensity, or a plain actor whose handler threw): `'report'` (default)
   * logs it and publishes the events, and the rest of the system stays up; `'shutdown'` also
   * shuts the whole system down (gracefully), so a host process can exit.
   */
  readonly onEscalation?: 'report' | 'shutdown';
  /**
   * OpenTelemetry tracing of message handling; off unless given (`{}` traces to the global
   * tracer provider). With it on, handling a message is a span `handle <type>` (kind
   * `CONSUMER`), child of the span it was sent from, with the attributes `troupe.actor.path`,
   * `troupe.node` and `troupe.message.type`; failures (exception, status `ERROR`), unhandled
   * messages (`troupe.unhandled`) and restarts (a `restart <path>` span, child of the failed
   * message's) are recorded. Off, it costs nothing on the `tell` path (no allocation, no
   * per-message check: traced refs and cells are chosen when an actor is made). Without a
   * context manager the handler's span is current only up to its first `await`; see
   * {@link TracingOptions} for the details.
   */
  readonly tracing?: TracingOptions;
}

/** Options of {@link ActorSystem.shutdown}. */
export interface ShutdownOptions {
  /**
   * Upper bound for the whole graceful shutdown, in ms (default 10000). Each actor drains
   * within its own `shutdownMs`; whatever is still running when this expires is stopped hard.
   */
  readonly timeoutMs?: number;
}

/**
 * An actor system: the root of an actor tree, its dispatcher, clock, logger and event stream.
 *
 * Top-level actors live under the `/user` guardian: `system.spawn(behaviour, { name: 'a' })`
 * is `/user/a`. Everything the runtime does that a user may want to see — actors starting,
 * failing, stopping, every dead letter — is published on {@link ActorSystem.events}.
 */
export class ActorSystem implements SystemView {
  readonly name: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The system event stream: every {@link SystemEvent} (actors starting, exiting, failing, restarting, stopping; dead letters; drops; escalations). */
  readonly events: EventStream;
  /** The default timeout of `ask`, in ms (`askTimeoutMs` option, default 5000). */
  readonly askTimeoutMs: number;
  readonly #host: SystemHost;
  #shutdownHooks: (() => void | Promise<void>)[] = [];
  readonly #root: ActorCell<Message>;
  readonly #guardian: ActorCell<Message>;
  #shutdown: Promise<void> | null = null;
  /** Installed signal handlers, one per signal however often `shutdownOnSignals` is called. */
  readonly #signalHandlers = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();

  private constructor(options: ActorSystemOptions) {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.name !== 'string' ||
      options.name === ''
    ) {
      throw new TypeError('ActorSystem.start: options.name must be a non-empty string');
    }
    const checks = new OptionChecks('ActorSystem.start');
    const askTimeoutMs = checks.run(() => {
      const ms = options.askTimeoutMs ?? 5000;
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`askTimeoutMs must be a finite number >= 0; got ${String(ms)}`);
      }
      return ms;
    }, 5000);
    const clock =
      options.clock === undefined ? systemClock : checks.run(() => validateClock(options.clock), systemClock);
    const ids = options.ids === undefined ? nanoIds : checks.run(() => validateIds(options.ids), nanoIds);
    const logger =
      options.logger === undefined ? undefined : checks.run(() => validateLogger(options.logger), undefined);
    const onEscalation = checks.run(() => {
      const value = options.onEscalation ?? 'report';
      if (value !== 'report' && value !== 'shutdown') {
        throw new TypeError(`onEscalation must be 'report' or 'shutdown'; got ${String(value)}`);
      }
      return value;
    }, 'report' as const);
    checks.done();
    this.askTimeoutMs = askTimeoutMs;
    this.name = options.name;
    this.clock = clock;
    this.log = guardLogger(logger ?? defaultLogger(options.name));
    this.events = new EventStream((err, event) =>
      this.log.error({ err, event: event.type }, 'event listener threw'),
    );
    const tracing = resolveTracing(options.tracing, options.name, (err) =>
      this.log.error({ err }, 'the tracer threw (the message is handled all the same)'),
    );
    this.#host = new SystemHost(
      this,
      this.clock,
      guardIds(ids, this.log),
      this.log,
      askTimeoutMs,
      this.events,
      tracing,
    );
    if (onEscalation === 'shutdown') {
      this.events.subscribe((event) => {
        if (event.type === 'ActorStopped' && event.reason.type === 'error' && isTopLevel(event.path)) {
          this.log.error({ actor: event.path }, 'top-level actor failed: shutting the system down');
          void this.shutdown();
        }
      });
    }
    for (const observer of observers) observer(this);
    const guardian: Behavior<Message> = receive(null, (state) => state);
    const rootOptions = { capacity: 1, overflow: 'block', throughput: 1, shutdownMs: 0, name: '' } as const;
    this.#root = newCell<Message>(this.#host, null, '', guardian, rootOptions);
    this.#root.start();
    this.#guardian = this.#root.spawnChild(guardian, { name: 'user' });
  }

  /** Starts a system. Throws `TypeError`/`RangeError` on bad options. */
  static start(options: ActorSystemOptions): ActorSystem {
    return new ActorSystem(options);
  }

  /**
   * Starts a top-level actor under `/user`. Throws `TypeError` for a bad behaviour, a bad or
   * duplicate name, and `RangeError` for bad mailbox or throughput numbers — before anything
   * starts. A behaviour that throws while starting does not throw here: the actor fails
   * (`ActorFailed`) and is stopped.
   */
  spawn<M extends Message>(behavior: Behavior<M>, options?: SpawnOptions): ActorRef<M> {
    if (this.#shutdown !== null) throw new TypeError(`actor system ${this.name} is shut down`);
    return this.#guardian.spawn(behavior, options ?? {});
  }

  /**
   * Stops an actor (reason `shutdown`), with the contract of a supervised shutdown: it refuses
   * new messages, handles what is queued within `timeoutMs` (default: its `shutdownMs`), then
   * stops hard — a handler still running is abandoned and what is still queued becomes dead
   * letters (`stopped`). Under a supervisor this is an exit like any other: a `permanent` child
   * is restarted in place (as in OTP; its mailbox is kept), forced after `timeoutMs` if a
   * handler never ends; use `Supervisor.stopChild` to stop a supervised child for good.
   * Stopping the `/user` guardian is {@link ActorSystem.shutdown}. Resolves once the actor (or
   * its incarnation) has stopped; unknown or stopped refs resolve at once. Rejects with
   * `RangeError` for a bad `timeoutMs`.
   */
  stop(ref: ActorAddress, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options?.timeoutMs;
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)
    ) {
      return Promise.reject(
        new RangeError(`stop: timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
      );
    }
    const cell = LocalRef.cellOf(ref);
    if (cell === undefined) return Promise.resolve();
    if (cell === this.#guardian || cell === this.#root) {
      return this.shutdown(timeoutMs === undefined ? {} : { timeoutMs });
    }
    try {
      return cell.requestStop(SHUTDOWN, timeoutMs);
    } catch (error) {
      return Promise.reject(error); // a clock that throws
    }
  }

  /** The live actor at `path` (e.g. `/user/pipeline/decoder`), if any. */
  lookup(path: string): ActorRef<Message> | undefined {
    if (typeof path !== 'string' || !path.startsWith('/')) return undefined;
    let cell: ActorCell<Message> | undefined = this.#root;
    for (const segment of path.split('/').slice(1)) {
      if (segment === '') continue;
      cell = cell.child(segment);
      if (cell === undefined) return undefined;
    }
    return cell === this.#root ? undefined : cell.self;
  }

  /**
   * Whether `ref` is an actor of this system (running or stopped): not a foreign ref, not an
   * ask's reply ref, not a look-alike. Cheap; for transports that must tell local refs apart.
   */
  owns(ref: unknown): boolean {
    const cell = LocalRef.cellOf(ref as ActorAddress);
    return cell !== undefined && cell.host === this.#host;
  }

  /** The counters of the actor behind `ref` (also after it stopped), or undefined for a foreign ref. */
  inspect(ref: ActorAddress): ActorStats | undefined {
    return LocalRef.cellOf(ref)?.stats();
  }

  /**
   * Whether this system traces messages (the `tracing` option). For transports: a message sent
   * to another node carries its trace context only then (see `currentTraceContext`).
   */
  get tracing(): boolean {
    return this.#host.tracing !== null;
  }
  /**
   * @internal For transports: a reply from another node settled an ask made here (a span on the
   * asking node, child of the remote replier's, when this system traces).
   */
  traceReply(target: string, message: unknown): void {
    this.#host.tracing?.replied(target, message);
  }

  /** Dead letters published since start. */
  get deadLetters(): number {
    return this.#host.deadLetters;
  }

  /**
   * A serializable snapshot of the actor tree under `/user`: for each actor its path, kind
   * (`worker` or `supervisor`), status, restarts, mailbox depth, counters and children.
   */
  tree(): ActorTreeNode {
    return this.#guardian.tree();
  }

  /**
   * Graceful shutdown: stops every actor, top-down, siblings in reverse start order; each
   * refuses new messages, drains its mailbox while its children still run, then waits for its
   * children to do the same, within its `shutdownMs` before it is stopped hard, so what is
   * still queued (or still being handled) then becomes a dead letter (`shutdown`); messages offered once an actor has begun stopping are refused (`tell`: a
   * `stopped` dead letter; `send`: `ActorStoppedError`). Producers waiting on full mailboxes
   * are released with `ActorStoppedError`. Resolves once everything has stopped, within
   * `timeoutMs`. Idempotent: every call returns the same promise.
   */
  shutdown(options: ShutdownOptions | undefined = {}): Promise<void> {
    if (this.#shutdown === null) {
      const timeoutMs = options?.timeoutMs ?? 10_000;
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
        return Promise.reject(
          new RangeError(`timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
        );
      }
      this.#host.shuttingDown = true;
      this.log.debug({ timeoutMs }, 'actor system shutting down');
      const root = this.#root;
      let hardStop: unknown;
      try {
        hardStop = this.clock.setTimeout(() => root.terminate(SHUTDOWN), timeoutMs);
      } catch (error) {
        // A clock that cannot time anything: stop everything now rather than hang.
        this.log.error({ err: error }, 'clock.setTimeout threw: stopping hard');
        root.terminate(SHUTDOWN);
        this.#shutdown = Promise.resolve();
        return this.#shutdown;
      }
      this.#shutdown = this.#guardian
        .stopGracefully(SHUTDOWN, timeoutMs)
        .then(() => {
          this.clock.clearTimeout(hardStop);
          root.terminate(SHUTDOWN);
          return this.#runShutdownHooks();
        })
        .then(() => {
          this.log.debug({ deadLetters: this.#host.deadLetters }, 'actor system stopped');
        });
    }
    return this.#shutdown;
  }

  /**
   * Runs `hook` once every actor has stopped, at the end of {@link ActorSystem.shutdown}, which
   * resolves only after the hook settled (hooks run one after the other, latest first). For
   * extensions that hold outside resources: the cluster leaves and closes its connection here.
   * A hook that throws or rejects is logged; shutdown still completes. Returns the function
   * that removes the hook.
   */
  addShutdownHook(hook: () => void | Promise<void>): () => void {
    if (typeof hook !== 'function') throw new TypeError('addShutdownHook: hook must be a function');
    this.#shutdownHooks.push(hook);
    return () => {
      this.#shutdownHooks = this.#shutdownHooks.filter((h) => h !== hook);
    };
  }

  async #runShutdownHooks(): Promise<void> {
    const hooks = this.#shutdownHooks;
    this.#shutdownHooks = [];
    for (let i = hooks.length - 1; i >= 0; i--) {
      try {
        await (hooks[i] as () => void | Promise<void>)();
      } catch (error) {
        this.log.error({ err: error }, 'shutdown hook failed');
      }
    }
  }

  /**
   * For transports (the cluster): records a dead letter exactly as the runtime does, counted in
   * {@link ActorSystem.deadLetters} and published on `system.events`. `recipient` is the
   * intended recipient's path or address.
   */
  deadLetter(reason: DeadLetterReason, message: unknown, recipient: string, error?: unknown): void {
    this.#host.deadLetter(reason, message, recipient, error);
  }

  /** For transports (the cluster): publishes a cluster event on `system.events`. */
  publish(event: ClusterEvent): void {
    this.events.publish(event);
  }

  /**
   * Wires SIGINT and SIGTERM (or `signals`) to a graceful {@link ActorSystem.shutdown}, then
   * exits the process with code 0 (unless `exit: false`). A second signal while shutting down
   * exits at once with code 1. Idempotent: a signal already wired by an earlier call keeps that
   * call's handler and options (one signal is one delivery, however often this is called).
   * Returns a function that removes the handlers this call installed.
   */
  shutdownOnSignals(
    options: ShutdownOptions & { readonly signals?: readonly NodeJS.Signals[]; readonly exit?: boolean } = {},
  ): () => void {
    const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
    let received = 0;
    const handler = (signal: NodeJS.Signals) => {
      received++;
      if (received > 1 || this.#shutdown !== null) {
        if (options.exit !== false) process.exit(1);
        return;
      }
      this.log.info({ signal }, 'signal received');
      void this.shutdown(options).then(() => {
        if (options.exit !== false) process.exit(0);
      });
    };
    const installed: NodeJS.Signals[] = [];
    for (const signal of signals) {
      if (this.#signalHandlers.has(signal)) continue;
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
      installed.push(signal);
    }
    return () => {
      for (const signal of installed) {
        if (this.#signalHandlers.get(signal) !== handler) continue;
        this.#signalHandlers.delete(signal);
        process.off(signal, handler);
      }
    };
  }

  /** @internal Whether the dispatcher has nothing ready to run (for the test kit). */
  get idle(): boolean {
    return this.#host.dispatcher.idle;
  }

  /** @internal Whether `shutdown` has been called. */
  get shuttingDown(): boolean {
    return this.#shutdown !== null;
  }

  /**
   * @internal For the test kit's auditor: from now on, remembers every actor this system
   * creates (also those that stop), and returns a function listing their counters.
   */
  trackActors(): () => ActorStats[] {
    this.#host.tracked ??= [];
    const cells = this.#host.tracked;
    return () => cells.map((cell) => cell.stats());
  }
}

const observers = new Set<(system: ActorSystem) => void>();

/**
 * @internal For the test kit's auditor: `observer` is called with every actor system started
 * from now on, before it runs anything. Returns the function that stops observing.
 */
export function observeSystems(observer: (system: ActorSystem) => void): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** Whether `path` names an actor directly under the `/user` guardian. */
function isTopLevel(path: string): boolean {
  return path.startsWith('/user/') && path.indexOf('/', '/user/'.length) === -1;
}
