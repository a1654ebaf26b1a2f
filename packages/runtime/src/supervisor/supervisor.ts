/**
 * Supervisors, with Erlang/OTP semantics and Akka's in-place restarts.
 *
 * A supervisor is an actor whose children are described by ordered child specs (plain data,
 * validated before anything starts). It starts them in spec order and stops them in reverse
 * order. When a child exits — its handler throws or rejects, its machine errors, it stops
 * itself, or it is stopped from outside — the supervisor decides by the child's restart type:
 * `permanent` children are always restarted, `transient` ones only after an abnormal exit
 * (`error`), `temporary` ones never. A restart follows the strategy: `oneForOne` restarts the
 * child alone, `oneForAll` every child, `restForOne` the child and those started after it (the
 * others are stopped first, in reverse start order, then all restart in start order).
 *
 * **Restart in place.** A restarted child keeps its ref and its mailbox: messages queued before
 * and during the restart are processed by the new incarnation, and restart cost does not depend
 * on how many are queued. The message that failed becomes a dead letter (`failed`); state
 * starts again from the behaviour's initial state; the old incarnation's timers are cancelled,
 * its children stopped, and its `onRestart` hook run.
 *
 * **Intensity.** At most `maxRestarts` restarts within any `withinMs` window. The restart that
 * would exceed it is refused: the supervisor stops all its children (reverse start order) and
 * fails itself with `RestartIntensityError`, escalating to its own parent (a
 * `SupervisorEscalated` event). A supervisor under the `/user` guardian then stops, and the
 * system reports it — or shuts down, per `ActorSystem.start({ onEscalation })`.
 *
 * **Backoff.** Optional `{ minMs, maxMs, jitter, resetAfterMs }`: restarts wait an exponential
 * delay (messages keep queuing meanwhile). Intensity still counts every restart.
 *
 * **Shutdown.** Stopping a supervisor gracefully stops its children in reverse start order,
 * each given its `shutdownMs` to drain before a hard stop.
 */
import type { ActorContext } from '../actor/actor-context.js';
import type { ActorRef, Message } from '../actor/actor-ref.js';
import {
  type Behavior,
  type BehaviorInstance,
  type Lifecycle,
  type SupervisedChild,
  UNHANDLED,
} from '../actor/behavior.js';
import { type ExitReason, SHUTDOWN } from '../actor/exit-reason.js';
import { OptionChecks } from '../options.js';
import { type Backoff, backoffDelay, validateBackoff } from './backoff.js';
import {
  type ChildSpec,
  type ResolvedChildSpec,
  type RestartType,
  validateChildSpec,
  validateChildSpecs,
} from './child-spec.js';
import { type Intensity, RestartWindow, validateIntensity } from './restart-window.js';
import { affectedChildren, type Strategy, validateStrategy } from './strategy.js';

/** Options of {@link supervisor}. */
export interface SupervisorOptions {
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  readonly backoff?: Backoff;
  readonly children: readonly ChildSpec[];
}

/** Thrown (as the supervisor's failure) when restart intensity is exceeded. */
export class RestartIntensityError extends Error {
  override readonly name = 'RestartIntensityError';
  readonly code = 'RESTART_INTENSITY';
  constructor(
    readonly path: string,
    readonly intensity: Intensity,
    options?: { cause?: unknown },
  ) {
    super(
      `supervisor ${path} gave up: more than ${intensity.maxRestarts} restarts within ${intensity.withinMs} ms`,
      options,
    );
  }
}

/** A child as {@link Supervisor.children} reports it. */
export interface ChildInfo {
  readonly id: string;
  readonly ref: ActorRef<Message>;
  readonly restart: RestartType;
  readonly status: SupervisedChild['status'];
}

/** The reply of the supervisor's dynamic-children requests. */
export type SupervisorReply =
  | {
      readonly type: 'supervisor.ok';
      readonly ref?: ActorRef<Message>;
      readonly children?: readonly ChildInfo[];
    }
  | { readonly type: 'supervisor.error'; readonly error: Error };

/** What a supervisor accepts: requests from {@link Supervisor}'s functions. */
export type SupervisorMessage =
  | {
      readonly type: 'supervisor.startChild';
      readonly spec: ChildSpec;
      readonly replyTo: ActorRef<SupervisorReply>;
    }
  | {
      readonly type: 'supervisor.stopChild';
      readonly id: string;
      readonly replyTo: ActorRef<SupervisorReply>;
    }
  | {
      readonly type: 'supervisor.restartChild';
      readonly id: string;
      readonly replyTo: ActorRef<SupervisorReply>;
    }
  | { readonly type: 'supervisor.children'; readonly replyTo: ActorRef<SupervisorReply> };

/**
 * A supervisor behaviour. Spawn it like any actor (`system.spawn(supervisor({...}))`, or as a
 * child spec of another supervisor: trees nest). Throws `TypeError`/`RangeError` naming the
 * child and field on a bad spec, a duplicate id, a bad strategy, intensity or backoff — at
 * this call, before anything starts.
 */
export function supervisor(options: SupervisorOptions): Behavior<SupervisorMessage> {
  if (options === null || typeof options !== 'object')
    throw new TypeError('supervisor: options must be an object');
  const checks = new OptionChecks('supervisor');
  const strategy = checks.run(() => validateStrategy(options.strategy), 'oneForOne');
  const intensity = checks.run(() => validateIntensity(options.intensity), { maxRestarts: 0, withinMs: 1 });
  const backoff =
    options.backoff === undefined ? undefined : checks.run(() => validateBackoff(options.backoff), undefined);
  const specs = checks.run(() => validateChildSpecs(options.children), []);
  checks.done();
  return {
    start: (ctx, lifecycle) => new SupervisorInstance(ctx, lifecycle, strategy, intensity, backoff, specs),
  };
}

/** Functions to manage a running supervisor's children (each is an `ask` to it). */
export const Supervisor = {
  /** Starts a new child from `spec` (validated here first: throws on a bad spec). */
  async startChild<M extends Message>(
    sup: ActorRef<SupervisorMessage>,
    spec: ChildSpec<M>,
  ): Promise<ActorRef<M>> {
    validateChildSpec(spec);
    const reply = await sup.ask<SupervisorReply>((replyTo) => ({
      type: 'supervisor.startChild',
      spec: spec as unknown as ChildSpec,
      replyTo,
    }));
    return unwrap(reply).ref as unknown as ActorRef<M>;
  },
  /** Stops a child gracefully (within its `shutdownMs`); it is not restarted until `restartChild`. */
  async stopChild(sup: ActorRef<SupervisorMessage>, id: string): Promise<void> {
    unwrap(await sup.ask<SupervisorReply>((replyTo) => ({ type: 'supervisor.stopChild', id, replyTo })));
  },
  /** Restarts a child: in place if it runs, or starts a stopped one again (with a new ref). */
  async restartChild(sup: ActorRef<SupervisorMessage>, id: string): Promise<ActorRef<Message>> {
    const reply = await sup.ask<SupervisorReply>((replyTo) => ({
      type: 'supervisor.restartChild',
      id,
      replyTo,
    }));
    return unwrap(reply).ref as ActorRef<Message>;
  },
  /** The children, in start order. */
  async children(sup: ActorRef<SupervisorMessage>): Promise<readonly ChildInfo[]> {
    const reply = await sup.ask<SupervisorReply>((replyTo) => ({ type: 'supervisor.children', replyTo }));
    return unwrap(reply).children ?? [];
  },
};

function unwrap(reply: SupervisorReply): Extract<SupervisorReply, { type: 'supervisor.ok' }> {
  if (reply.type === 'supervisor.error') throw reply.error;
  return reply;
}

interface Child {
  spec: ResolvedChildSpec;
  cell: SupervisedChild | null;
  /** Consecutive restarts, for backoff; reset after `resetAfterMs` without an exit. */
  attempts: number;
  lastRestartAt: number;
}

class SupervisorInstance implements BehaviorInstance<SupervisorMessage> {
  private readonly children: Child[];
  private readonly restartWindow = new RestartWindow();
  private readonly pendingTimers = new Set<unknown>();
  private stopped = false;

  constructor(
    private readonly ctx: ActorContext<SupervisorMessage>,
    private readonly lifecycle: Lifecycle,
    private readonly strategy: Strategy,
    private readonly intensity: Intensity,
    private readonly backoff: Required<Backoff> | undefined,
    specs: readonly ResolvedChildSpec[],
  ) {
    this.children = specs.map((spec) => ({ spec, cell: null, attempts: 0, lastRestartAt: 0 }));
  }

  afterStart(): void {
    for (const child of this.children) {
      if (this.stopped) return;
      this.spawn(child);
    }
  }

  handle(message: SupervisorMessage): undefined | typeof UNHANDLED {
    switch (message.type) {
      case 'supervisor.startChild':
        this.reply(message.replyTo, () => {
          const spec = validateChildSpec(message.spec);
          if (this.children.some((c) => c.spec.id === spec.id))
            throw new TypeError(`child "${spec.id}": duplicate id`);
          const child: Child = { spec, cell: null, attempts: 0, lastRestartAt: 0 };
          const ref = this.spawn(child); // a child that cannot be spawned is not added
          const cell = child.cell as SupervisedChild;
          if (cell.status !== 'running') {
            // It failed to start (OTP start_child returns the error): not added.
            const reason = cell.exitReason;
            cell.terminate(reason);
            throw new TypeError(`child "${spec.id}" failed to start`, {
              cause: reason.type === 'error' ? reason.error : reason,
            });
          }
          this.children.push(child);
          return { ref };
        });
        return undefined;
      case 'supervisor.stopChild': {
        const child = this.find(message.id);
        if (child === undefined) {
          this.ctx.reply(message.replyTo, { type: 'supervisor.error', error: unknownChild(message.id) });
          return undefined;
        }
        if (child.spec.restart === 'temporary') this.children.splice(this.children.indexOf(child), 1);
        const cell = child.cell;
        const stopping =
          cell === null ? Promise.resolve() : cell.stopGracefully(SHUTDOWN, child.spec.shutdownMs);
        stopping.then(() => this.ctx.reply(message.replyTo, { type: 'supervisor.ok' }));
        return undefined;
      }
      case 'supervisor.restartChild':
        this.reply(message.replyTo, () => {
          const child = this.find(message.id);
          if (child === undefined) throw unknownChild(message.id);
          if (child.cell !== null && child.cell.status !== 'stopped') {
            child.cell.restart(SHUTDOWN, child.spec.behavior);
            return { ref: child.cell.self };
          }
          return { ref: this.spawn(child) };
        });
        return undefined;
      case 'supervisor.children':
        this.reply(message.replyTo, () => ({
          children: this.children
            .filter((c) => c.cell !== null)
            .map((c) => ({
              id: c.spec.id,
              ref: (c.cell as SupervisedChild).self,
              restart: c.spec.restart,
              status: (c.cell as SupervisedChild).status,
            })),
        }));
        return undefined;
      default:
        return UNHANDLED; // not a supervisor request: an unhandled dead letter
    }
  }

  terminated(): undefined {
    return undefined;
  }

  stop(): void {
    // The cell stops the children (reverse start order) itself; only pending restarts remain.
    this.stopped = true;
    for (const timer of this.pendingTimers) this.lifecycle.clock.clearTimeout(timer);
    this.pendingTimers.clear();
  }

  supervise(exited: SupervisedChild, reason: ExitReason): void {
    const child = this.children.find((c) => c.cell === exited);
    if (child === undefined || this.stopped) {
      exited.terminate(reason);
      return;
    }
    const { restart } = child.spec;
    if (restart === 'temporary' || (restart === 'transient' && reason.type !== 'error')) {
      exited.terminate(reason);
      if (restart === 'temporary') this.children.splice(this.children.indexOf(child), 1);
      return;
    }
    const now = this.lifecycle.clock.now();
    if (!this.restartWindow.admit(now, this.intensity)) {
      this.escalate(exited, reason);
      return;
    }
    const affected = this.strategy === 'oneForOne' ? [child] : this.affectedBy(child);
    // Take the affected children down as OTP does: the exited child's incarnation ends first
    // (its hooks, timers and children), then its siblings in reverse start order; temporary
    // siblings leave.
    (child.cell as SupervisedChild).suspend(reason);
    for (let i = affected.length - 1; i >= 0; i--) {
      const sibling = affected[i] as Child;
      const cell = sibling.cell as SupervisedChild;
      if (sibling === child) continue;
      if (sibling.spec.restart === 'temporary') {
        cell.terminate(SHUTDOWN);
        this.children.splice(this.children.indexOf(sibling), 1);
      } else {
        cell.suspend(SHUTDOWN);
      }
    }
    const restartable = affected.filter((c) => c.spec.restart !== 'temporary');
    const delay = this.nextDelay(child, now);
    const restartAll = () => {
      for (const c of restartable) {
        const cell = c.cell as SupervisedChild;
        c.lastRestartAt = this.lifecycle.clock.now();
        cell.restart(c === child ? reason : SHUTDOWN, c.spec.behavior);
        // OTP: a group restart stops at the first child that fails to start. Its failure comes
        // back as an exit (counted toward intensity); the children after it stay down until the
        // next attempt restarts the group again.
        if (cell.status !== 'running') return;
      }
    };
    if (delay <= 0) {
      restartAll();
      return;
    }
    const timer = this.lifecycle.clock.setTimeout(() => {
      this.pendingTimers.delete(timer);
      if (!this.stopped) restartAll();
    }, delay);
    this.pendingTimers.add(timer);
  }

  /** The live children a oneForAll / restForOne restart takes down, in start order. */
  private affectedBy(child: Child): Child[] {
    const live = this.children.filter((c) => c.cell !== null && c.cell.status !== 'stopped');
    const ids = affectedChildren(
      this.strategy,
      live.map((c) => c.spec.id),
      child.spec.id,
    );
    return live.filter((c) => ids.includes(c.spec.id));
  }

  private nextDelay(child: Child, now: number): number {
    const backoff = this.backoff;
    if (backoff === undefined) return 0;
    if (child.attempts > 0 && now - child.lastRestartAt >= backoff.resetAfterMs) child.attempts = 0;
    child.attempts++;
    return backoffDelay(backoff, child.attempts, Math.random());
  }

  private escalate(exited: SupervisedChild, reason: ExitReason): void {
    this.stopped = true;
    exited.terminate(reason);
    for (let i = this.children.length - 1; i >= 0; i--) this.children[i]?.cell?.terminate(SHUTDOWN);
    const path = this.ctx.self.path;
    const error = new RestartIntensityError(path, this.intensity, {
      cause: reason.type === 'error' ? reason.error : reason,
    });
    this.lifecycle.escalate(error);
  }

  private spawn(child: Child): ActorRef<Message> {
    const { spec } = child;
    const cell = this.lifecycle.spawnSupervised(spec.behavior, {
      name: spec.id,
      shutdownMs: spec.shutdownMs,
      ...(spec.mailbox === undefined ? {} : { mailbox: spec.mailbox }),
    });
    child.cell = cell;
    child.lastRestartAt = this.lifecycle.clock.now();
    return cell.self;
  }

  private find(id: string): Child | undefined {
    return this.children.find((c) => c.spec.id === id);
  }

  private reply(
    replyTo: ActorRef<SupervisorReply>,
    work: () => { ref?: ActorRef<Message>; children?: readonly ChildInfo[] },
  ): void {
    let reply: SupervisorReply;
    try {
      reply = { type: 'supervisor.ok', ...work() };
    } catch (error) {
      reply = { type: 'supervisor.error', error: error instanceof Error ? error : new Error(String(error)) };
    }
    this.ctx.reply(replyTo, reply);
  }
}

function unknownChild(id: string): TypeError {
  return new TypeError(`no child with id "${id}"`);
}
