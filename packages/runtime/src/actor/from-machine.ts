/**
 * XState v5 machines as actor behaviours. The only runtime file that imports xstate.
 */
import {
  type Actor,
  type AnyStateMachine,
  createActor,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';
import type { Clock } from '../time/clock.js';
import type { ActorContext } from './actor-context.js';
import type { Message } from './actor-ref.js';
import type { Behavior, BehaviorInstance, Lifecycle, Terminated } from './behavior.js';
import { UNHANDLED } from './behavior.js';
import type { DelayedEvent } from './timers.js';

/** The messages of a machine actor: its events. */
export type MachineMessage<TMachine extends AnyStateMachine> = EventFromLogic<TMachine> & Message;

/**
 * A machine's state as a {@link MachinePersistence} stores it (plain JSON): XState's persisted
 * snapshot (`actor.getPersistedSnapshot()`), plus what XState's own persistence drops: the
 * delayed events the machine has pending, each with its **deadline** on the system clock.
 *
 * - `timers`: the machine's own delayed events: `after` transitions, delayed `raise` (keyed or
 *   not), and delayed `sendTo` one of its XState children (`target` `#_<child id>`).
 * - `actorTimers`: the actor's keyed `ctx.timers` (started from the machine's actions).
 *
 * At restore each goes back on the clock due at its saved deadline; one already overdue fires
 * at once, all overdue ones in deadline order. A crash therefore never postpones a timer.
 */
export interface PersistedMachine {
  readonly snapshot: unknown;
  readonly timers: readonly DelayedEvent[];
  readonly actorTimers?: readonly DelayedEvent[];
}

/**
 * Where a persistent machine keeps its state (`@troupe/persistence` implements it on its
 * stores); one hook serves one incarnation. The runtime calls `load` once at start (spawn,
 * supervised restart, a new process) and `save` after every message or delayed event that changed the snapshot or its pending
 * timers; the actor takes its next message only once that save resolved.
 */
export interface MachinePersistence {
  /** The last saved state, or `undefined` for a fresh machine. A rejection is a failed start. */
  load(): Promise<PersistedMachine | undefined>;
  /** Stores `state`. A rejection is a failure of the actor (the message becomes a `failed` dead letter). */
  save(state: PersistedMachine): Promise<void>;
}

/** Options of {@link fromMachine}. */
export interface FromMachineOptions<TMachine extends AnyStateMachine> {
  /** The machine's input, given at every start (and restart). */
  readonly input?: InputFrom<TMachine>;
  /**
   * What `system.tree()` shows for this actor (its `details`), from the machine's snapshot.
   * Default: `{ state: snapshot.value }`, the machine's current state.
   */
  readonly describe?: (snapshot: SnapshotFrom<TMachine>) => unknown;
  /**
   * Makes the machine durable. Called at each start (spawn, restart): the hook it returns
   * loads the snapshot with its pending delayed events and keyed `ctx.timers`, which resume
   * due at their saved deadlines ({@link PersistedMachine}), and saves after each change
   * (a message, a fired delayed event or timer). Messages that arrive while it loads wait in
   * the mailbox.
   *
   * Each delayed event fires once, at its deadline, or at restore when that is later, except
   * when the process dies between its firing and the save that follows: then it fires again
   * after the restore (at least once). Not saved: the delayed events an XState child machine
   * schedules itself, and delayed `sendTo` an actor outside the machine's children.
   */
  readonly persistence?: () => MachinePersistence;
}

/**
 * An XState v5 machine as an actor behaviour.
 *
 * - **Messages are events.** Each user message is sent to the machine as an event, one at a
 *   time. An event the machine does not accept in its current state (no enabled transition,
 *   as `snapshot.can(event)` judges) becomes a dead letter with reason `unhandled`.
 *   `Terminated` signals of watched actors are events too (`{ type: 'Terminated', ref, reason }`).
 * - **Effects.** Pass a factory `(ctx) => machine.provide({ actions: { … } })` to give the
 *   machine's named actions the actor context: tell a ref, `ctx.reply(event.replyTo, …)`,
 *   `ctx.send` with backpressure, spawn, watch, timers. The factory runs at every start.
 * - **Time.** The machine runs on the system's clock (delayed transitions follow a
 *   `VirtualClock` in tests).
 * - **Failure.** A throw in an action or guard (the actor's `error` status), also later from an
 *   invoked promise, is a failure of the actor: the message becomes a dead letter (`failed`)
 *   and the parent is told. The runtime always observes errors, so XState never rethrows them
 *   into the process.
 * - **Done.** Reaching a top-level final state stops the actor normally.
 * - **Restart.** A fresh XState actor from the machine's initial state (with `input`), or,
 *   with `persistence`, from the last saved snapshot with its pending delayed events.
 */
export function fromMachine<TMachine extends AnyStateMachine>(
  machine: TMachine | ((ctx: ActorContext<MachineMessage<TMachine>>) => TMachine),
  options: FromMachineOptions<TMachine> = {},
): Behavior<MachineMessage<TMachine>> {
  if (typeof machine !== 'function' && (machine === null || typeof machine !== 'object')) {
    throw new TypeError('fromMachine: expected an XState machine or a function returning one');
  }
  return {
    start: (ctx, lifecycle) => {
      const resolved = typeof machine === 'function' ? machine(ctx) : machine;
      const describe = options.describe as ((snapshot: unknown) => unknown) | undefined;
      return new MachineInstance<MachineMessage<TMachine>>(
        resolved,
        options.input,
        ctx,
        lifecycle,
        describe,
        options.persistence?.(),
      );
    },
  };
}

/** Where a restored delayed event is due, and to whom (absent: the machine itself). */
interface Due {
  readonly deadline: number;
  readonly target?: string;
}

/** The marker of a delayed event sent to one of the machine's XState children (SCXML's `#_invokeid`). */
const CHILD = '#_';

class MachineInstance<M extends Message> implements BehaviorInstance<M> {
  private actor: Actor<AnyStateMachine> | undefined;
  /** Set while the runtime is inside `actor.send`: errors then surface from `handle`. */
  private handling = false;
  /** Set while a delayed event fires: its change is saved once, after it. */
  private firing = false;
  private stopped = false;
  readonly ready: Promise<void> | undefined;
  /** With persistence: the machine's pending delayed events, by XState's scheduled-event key. */
  private readonly due = new Map<string, Due>();
  /** Bumped whenever the machine schedules or cancels a delayed event. */
  private timerChanges = 0;
  /** `timerChanges` plus the actor timers' own counter, as of the last save. */
  private timersSaved = 0;
  /** Set while a saved delayed event is put back: the deadline it keeps. */
  private restoring: number | undefined;
  /** The chain of saves, in order; the actor waits on the one its message caused. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly machine: AnyStateMachine,
    private readonly input: unknown,
    private readonly ctx: ActorContext<M>,
    private readonly lifecycle: Lifecycle,
    private readonly describeSnapshot: ((snapshot: unknown) => unknown) | undefined,
    private readonly persistence: MachinePersistence | undefined,
  ) {
    if (persistence === undefined) {
      this.boot(undefined);
      return;
    }
    this.ready = persistence.load().then((saved) => {
      if (!this.stopped) this.boot(saved);
    });
  }

  private boot(saved: PersistedMachine | undefined): void {
    const persistent = this.persistence !== undefined;
    const options: Record<string, unknown> = {
      clock: persistent ? this.firingClock() : this.lifecycle.clock,
    };
    if (this.input !== undefined) options.input = this.input;
    if (saved !== undefined) options.snapshot = saved.snapshot;
    const actor = createActor(this.machine, options);
    this.actor = actor;
    if (persistent) this.trackTimers(actor);
    actor.subscribe({
      next: () => {
        // A change outside any message or delayed event (an invoked promise settled): saved too.
        if (!this.handling && !this.firing && !this.stopped && persistent) this.saveInBackground();
      },
      // Always observed: without an error observer XState rethrows and kills the process.
      error: (error: unknown) => {
        if (!this.handling && !this.stopped) this.lifecycle.failAsync(error);
      },
      complete: () => {
        if (!this.handling && !this.stopped && actor.getSnapshot().status === 'done') this.ctx.stop();
      },
    });
    this.handling = true;
    try {
      actor.start();
      if (saved !== undefined) this.restore(actor, saved);
    } finally {
      this.handling = false;
    }
    this.timersSaved = this.timerCount();
    this.check();
  }

  /**
   * XState restores the snapshot but not its pending delayed events; the runtime's timers are
   * cancelled at every start. Puts both back, due at their saved deadlines, in deadline order
   * (so overdue ones fire in that order).
   */
  private restore(actor: Actor<AnyStateMachine>, saved: PersistedMachine): void {
    const now = this.lifecycle.clock.now();
    const all = [
      ...(saved.timers ?? []).map((e) => ({ machine: true, event: delayedEvent(e, now) })),
      ...(saved.actorTimers ?? []).map((e) => ({ machine: false, event: delayedEvent(e, now) })),
    ].sort((a, b) => a.event.deadline - b.event.deadline);
    const scheduler = actor.system.scheduler;
    for (const { machine, event } of all) {
      if (!machine) {
        this.lifecycle.timerState.restore([event]);
        continue;
      }
      const target = event.target === undefined ? actor : childOf(actor, event.target);
      if (target === undefined) {
        // Its child is gone from the restored snapshot: as a message to a stopped actor.
        this.ctx.system.deadLetter('stopped', event.message, `${this.ctx.self.path}${event.target}`);
        continue;
      }
      this.restoring = event.deadline;
      try {
        scheduler.schedule(actor, target, event.message, Math.max(0, event.deadline - now), event.key);
      } finally {
        this.restoring = undefined;
      }
    }
  }

  /** The runtime's clock, with a save after each delayed event XState fires on it. */
  private firingClock(): Clock {
    const clock = this.lifecycle.clock;
    return {
      now: () => clock.now(),
      clearTimeout: (handle) => clock.clearTimeout(handle),
      setTimeout: (callback, ms) =>
        clock.setTimeout(() => {
          this.firing = true;
          try {
            callback();
          } finally {
            this.firing = false;
          }
          if (!this.stopped) this.saveInBackground();
        }, ms),
    };
  }

  /** Records when each delayed event the machine schedules is due, and for whom. */
  private trackTimers(actor: Actor<AnyStateMachine>): void {
    const scheduler = actor.system.scheduler;
    const schedule = scheduler.schedule;
    const cancel = scheduler.cancel;
    const clock = this.lifecycle.clock;
    scheduler.schedule = (source, target, event, delay, id) => {
      const key = id ?? Math.random().toString(36).slice(2);
      if (source === actor) {
        const deadline = this.restoring ?? clock.now() + delay;
        if (target === actor) this.due.set(`${source.sessionId}.${key}`, { deadline });
        else if ((target as { _parent?: unknown })._parent === actor)
          this.due.set(`${source.sessionId}.${key}`, { deadline, target: `${CHILD}${target.id}` });
      }
      this.timerChanges++;
      schedule(source, target, event, delay, key);
    };
    scheduler.cancel = (source, id) => {
      this.due.delete(`${source.sessionId}.${id}`);
      this.timerChanges++;
      cancel(source, id);
    };
  }

  handle(message: M): undefined | typeof UNHANDLED | Promise<void> {
    const actor = this.actor as Actor<AnyStateMachine>;
    const before = actor.getSnapshot();
    this.handling = true;
    try {
      actor.send(message);
    } finally {
      this.handling = false;
    }
    const after = this.check();
    const changed =
      this.persistence !== undefined && (after !== before || this.timerCount() !== this.timersSaved);
    // An unchanged snapshot means no transition changed state or context; ask XState whether
    // the event was accepted at all (action-only transitions also leave the snapshot as is).
    if (after === before && !before.can(message)) {
      // A fired actor timer the machine does not take is still no longer pending.
      if (changed) this.saveInBackground();
      return UNHANDLED;
    }
    return changed ? this.save() : undefined;
  }

  terminated(signal: Terminated): undefined | typeof UNHANDLED | Promise<void> {
    return this.handle(signal as unknown as M);
  }

  stop(): void {
    this.stopped = true;
    this.actor?.stop();
  }

  describe(): unknown {
    if (this.actor === undefined) return { recovering: true };
    const snapshot = this.actor.getSnapshot();
    return this.describeSnapshot === undefined ? { state: snapshot.value } : this.describeSnapshot(snapshot);
  }

  /** Both timer counters: moves whenever a pending delayed event or actor timer changes. */
  private timerCount(): number {
    return this.timerChanges + this.lifecycle.timerState.changes();
  }

  /** Queues a save of the state as it is now; resolves once it (and every earlier one) is stored. */
  private save(): Promise<void> {
    const state = this.capture();
    const persistence = this.persistence as MachinePersistence;
    this.saving = this.saving.then(() => persistence.save(state));
    return this.saving;
  }

  /** A save no message waits for; its failure is the actor's. */
  private saveInBackground(): void {
    this.save().catch((error: unknown) => {
      if (!this.stopped) this.lifecycle.failAsync(error);
    });
  }

  private capture(): PersistedMachine {
    const actor = this.actor as Actor<AnyStateMachine>;
    const scheduled = actor.system.getSnapshot()._scheduledEvents;
    const timers: DelayedEvent[] = [];
    for (const [key, due] of this.due) {
      const entry = scheduled[key];
      if (entry === undefined) {
        this.due.delete(key); // fired
        continue;
      }
      const event = { key: entry.id, message: entry.event as Message, deadline: due.deadline };
      timers.push(due.target === undefined ? event : { ...event, target: due.target });
    }
    timers.sort((a, b) => a.deadline - b.deadline);
    this.timersSaved = this.timerCount();
    return {
      snapshot: actor.getPersistedSnapshot(),
      timers,
      actorTimers: this.lifecycle.timerState.pending(),
    };
  }

  /** Turns the snapshot's status into the actor's fate: `error` throws, `done` stops normally. */
  private check(): ReturnType<Actor<AnyStateMachine>['getSnapshot']> {
    const snapshot = (this.actor as Actor<AnyStateMachine>).getSnapshot();
    if (snapshot.status === 'error') throw snapshot.error;
    if (snapshot.status === 'done') this.ctx.stop();
    return snapshot;
  }
}

/** The machine's XState child a saved delayed event was for (`#_<id>`), if it is still there. */
function childOf(actor: Actor<AnyStateMachine>, target: string): Actor<AnyStateMachine> | undefined {
  if (!target.startsWith(CHILD)) return undefined;
  const children = actor.getSnapshot().children as Record<string, Actor<AnyStateMachine> | undefined>;
  return children[target.slice(CHILD.length)];
}

/**
 * A saved delayed event as {@link PersistedMachine} has it now, or as releases before deadlines
 * saved it (`{ id, event, remainingMs }`: then due that long after this restore).
 */
function delayedEvent(saved: DelayedEvent | LegacyTimer, now: number): DelayedEvent {
  if ('deadline' in saved) return saved;
  return { key: saved.id, message: saved.event as Message, deadline: now + Math.max(0, saved.remainingMs) };
}

/** A delayed event as saved before deadlines: the time it had left. */
interface LegacyTimer {
  readonly id: string;
  readonly event: { readonly type: string };
  readonly remainingMs: number;
}
