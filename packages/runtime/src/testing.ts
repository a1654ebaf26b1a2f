/**
 * @troupe/runtime/testing — deterministic time, ids and logs, and a probe actor, for tests.
 *
 * @packageDocumentation
 */
import { pino } from 'pino';
import type { ActorAddress, ActorRef, Message } from './actor/actor-ref.js';
import type { ActorStats, ActorTreeNode } from './actor/actor-stats.js';
import { receive, type Terminated } from './actor/behavior.js';
import type { IdGenerator } from './ids.js';
import type { Logger } from './logger.js';
import { type ActorSystem, observeSystems } from './system/actor-system.js';
import type { Clock } from './time/clock.js';

/**
 * A clock that moves only when told. `advance(ms)` runs every timer due within the next `ms`,
 * in deadline order (ties in creation order), each at its own deadline; timers created by
 * those callbacks run too if they fall due within the window.
 */
export class VirtualClock implements Clock {
  private time: number;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  /**
   * @param startMs where time starts (default 0). Two clocks share a scale, as the system clock
   *   does across processes: a second "process" in a test starts where the first one died.
   */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs))
      throw new RangeError(`VirtualClock: startMs must be finite; got ${startMs}`);
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms` (≥ 0), firing what falls due. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0; got ${ms}`);
    const target = this.time + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.timers) {
        if (timer.at < dueAt || (timer.at === dueAt && id < dueId)) {
          dueAt = timer.at;
          dueId = id;
        }
      }
      if (dueId < 0 || dueAt > target) break;
      const timer = this.timers.get(dueId) as { at: number; callback: () => void };
      this.timers.delete(dueId);
      this.time = dueAt;
      timer.callback();
    }
    this.time = target;
  }
}

/** Ids `${prefix}1`, `${prefix}2`, … in creation order. */
export function sequentialIds(prefix = 'a'): IdGenerator {
  let n = 0;
  return () => `${prefix}${++n}`;
}

/** A pino logger that keeps every line, parsed, in `lines`. */
export function logSink(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/**
 * Waits until the system has nothing ready to run: every message that can be processed without
 * outside events (real I/O, real timers, a `VirtualClock` advance) has been. Bounded: throws
 * after `maxTurns` event-loop turns rather than hanging.
 */
export async function settle(system: ActorSystem, maxTurns = 10_000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (system.idle) return;
  }
  throw new Error(`system ${system.name} still busy after ${maxTurns} event-loop turns`);
}

/**
 * Graceful shutdown on virtual time: starts `system.shutdown(options)` and advances `clock` in
 * `stepMs` steps (settling in between) until it resolves, so drains and hard-stop timeouts
 * happen. Throws after `maxSteps` steps rather than hanging.
 */
export async function shutdownAdvancing(
  system: ActorSystem,
  clock: VirtualClock,
  options: { readonly timeoutMs?: number; readonly stepMs?: number; readonly maxSteps?: number } = {},
): Promise<void> {
  let stopped = false;
  const done = system
    .shutdown(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
    .then(() => {
      stopped = true;
    });
  const maxSteps = options.maxSteps ?? 10_000;
  for (let step = 0; step < maxSteps && !stopped; step++) {
    clock.advance(options.stepMs ?? 10);
    await settle(system);
  }
  if (!stopped) throw new Error(`system ${system.name} did not shut down within ${maxSteps} clock steps`);
  await done;
}

type ProbeMessage<M extends Message> = M | { readonly type: '$probe.watch'; readonly ref: ActorAddress };

/**
 * An actor that records what it receives, for assertions. Tell things to `probe.ref`, or pass
 * it as a `replyTo`. Expectations never sleep: they wait until the system settles and fail if
 * the message is not there.
 */
export class TestProbe<M extends Message> {
  readonly ref: ActorRef<M>;
  private readonly inbox: (M | Terminated)[] = [];

  constructor(
    private readonly system: ActorSystem,
    name?: string,
  ) {
    const behavior = receive<null, ProbeMessage<M>>(
      null,
      (state, message, ctx) => {
        if (message.type === '$probe.watch') ctx.watch((message as { ref: ActorAddress }).ref);
        else this.inbox.push(message as M);
        return state;
      },
      {
        onTerminated: (state, signal) => {
          this.inbox.push(signal);
          return state;
        },
      },
    );
    this.ref = system.spawn(behavior, name === undefined ? {} : { name }) as unknown as ActorRef<M>;
  }

  /** Everything received and not yet taken by an expectation. */
  get messages(): readonly (M | Terminated)[] {
    return this.inbox;
  }

  /** Takes the next message; throws if none arrives before the system settles. */
  async expectMessage(): Promise<M> {
    const next = await this.take();
    if (next.type === 'Terminated' && isTerminated(next)) {
      throw new Error(`expected a message, got Terminated(${next.ref.path})`);
    }
    return next as M;
  }

  /** Throws if anything arrives before the system settles. */
  async expectNoMessage(): Promise<void> {
    await settle(this.system);
    if (this.inbox.length > 0) throw new Error(`expected no message, got ${JSON.stringify(this.inbox[0])}`);
  }

  /** Death-watches `ref`: its `Terminated` will arrive in this probe. */
  watch(ref: ActorAddress): void {
    (this.ref as unknown as ActorRef<ProbeMessage<M>>).tell({ type: '$probe.watch', ref });
  }

  /**
   * Takes the `Terminated` of `ref` (watching it first if needed); throws if it does not come
   * before the system settles.
   */
  async expectTerminated(ref: ActorAddress): Promise<Terminated> {
    this.watch(ref);
    const next = await this.take();
    if (!isTerminated(next) || next.ref !== ref) {
      throw new Error(`expected Terminated(${ref.path}), got ${JSON.stringify(next)}`);
    }
    return next;
  }

  private async take(): Promise<M | Terminated> {
    if (this.inbox.length === 0) await settle(this.system);
    const next = this.inbox.shift();
    if (next === undefined) throw new Error(`${this.ref.path}: no message arrived before the system settled`);
    return next;
  }
}

function isTerminated(message: Message): message is Terminated {
  return message.type === 'Terminated' && 'reason' in message && 'ref' in message;
}

/** Systems a test deliberately breaks an invariant of, with why (see {@link exemptFromAudit}). */
const exemptions = new WeakMap<ActorSystem, string>();

/**
 * Declares that the test deliberately breaks an accounting invariant of `system` (for example,
 * it checks what the auditor would flag), so the {@link Auditor} does not check it. Say why.
 */
export function exemptFromAudit(system: ActorSystem, why: string): void {
  if (typeof why !== 'string' || why.trim() === '') throw new TypeError('exemptFromAudit: say why');
  exemptions.set(system, why);
}

/**
 * Checks the runtime's accounting for every actor system started while it runs. The
 * repository's vitest setup file runs every test under one; use it in your own suites the
 * same way:
 *
 * ```ts
 * let audit: Auditor;
 * beforeEach(() => { audit = Auditor.start(); });
 * afterEach(async () => { expect(await audit.finish()).toEqual([]); });
 * ```
 *
 * `finish()` lets each system settle, then checks, for every actor it ever created (also those
 * that stopped): every message received is accounted for exactly once (`received = processed +
 * failed + unhandled + evicted + cancelled + deadLettered + mailboxDepth + inFlight`), and
 * nothing is left queued or in flight in a stopped actor; and for every live topic in the tree,
 * every subscription reconciles (`delivered + missed = matched`, when the topic reports
 * `matched`). It returns one line per problem (empty: all well).
 */
export class Auditor {
  private readonly systems: { system: ActorSystem; stats: () => ActorStats[] }[] = [];
  private readonly stop: () => void;

  private constructor() {
    this.stop = observeSystems((system) => {
      this.systems.push({ system, stats: system.trackActors() });
    });
  }

  static start(): Auditor {
    return new Auditor();
  }

  /** The systems seen so far. */
  get seen(): readonly ActorSystem[] {
    return this.systems.map((s) => s.system);
  }

  /** Stops observing, settles each system (bounded) and checks it. */
  async finish(): Promise<string[]> {
    this.stop();
    const problems: string[] = [];
    for (const { system, stats } of this.systems) {
      if (exemptions.has(system)) continue;
      try {
        await settle(system, 1000);
      } catch {
        // still busy (a flood on real time): the ledger holds between turns all the same
      }
      for (const s of stats()) problems.push(...ledgerProblems(system.name, s));
      if (!system.shuttingDown) collectTopics(system.tree(), system.name, problems);
    }
    return problems;
  }
}

function ledgerProblems(system: string, s: ActorStats): string[] {
  const out: string[] = [];
  const ended = s.processed + s.failed + s.unhandled + s.evicted + s.cancelled + s.deadLettered;
  const accounted = ended + s.mailboxDepth + s.inFlight;
  const where = `${system}${s.path || '/'}`;
  if (accounted !== s.received) {
    out.push(
      `${where}: received ${s.received} but accounted ${accounted} (processed ${s.processed}, failed ${s.failed}, unhandled ${s.unhandled}, evicted ${s.evicted}, cancelled ${s.cancelled}, dead-lettered ${s.deadLettered}, queued ${s.mailboxDepth}, in flight ${s.inFlight})`,
    );
  }
  if (s.status === 'stopped' && (s.mailboxDepth > 0 || s.inFlight > 0)) {
    out.push(`${where}: stopped with ${s.mailboxDepth} queued and ${s.inFlight} in flight`);
  }
  return out;
}

function collectTopics(node: ActorTreeNode, system: string, out: string[]): void {
  const details = node.details as
    | { type?: unknown; subscriptions?: readonly Record<string, unknown>[] }
    | undefined;
  if (details?.type === 'TopicStats' && Array.isArray(details.subscriptions)) {
    for (const sub of details.subscriptions) {
      const { matched, delivered, missed } = sub as { matched?: number; delivered: number; missed: number };
      if (typeof matched === 'number' && delivered + missed !== matched) {
        out.push(
          `${system}${node.path}: subscription ${String(sub.subscriber)} delivered ${delivered} + missed ${missed} != matched ${matched}`,
        );
      }
    }
  }
  for (const child of node.children) collectTopics(child, system, out);
}
