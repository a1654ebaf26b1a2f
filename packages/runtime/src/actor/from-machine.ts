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
import type { ActorContext } from './actor-context.js';
import type { Message } from './actor-ref.js';
import type { Behavior, BehaviorInstance, Lifecycle, Terminated } from './behavior.js';
import { UNHANDLED } from './behavior.js';

/** The messages of a machine actor: its events. */
export type MachineMessage<TMachine extends AnyStateMachine> = EventFromLogic<TMachine> & Message;

/**
 * A machine's state as a {@link MachinePersistence} stores it: XState's persisted snapshot
 * (`actor.getPersistedSnapshot()`), plus the delayed events the machine still has pending
 * (`after` transitions, delayed `raise` with or without an `id`), each with the time it had
 * left when saved. XState's own persistence drops the latter; {@link fromMachine} puts them
 * back on the clock at restore, with that remaining time.
 */
export interface PersistedMachine {
  readonly snapshot: unknown;
  readonly timers: readonly PersistedTimer[];
}

/** A delayed event the machine sent itself, still pending when its state was saved. */
export interface PersistedTimer {
  /** XState's id of the delayed event (the `id` given to `raise`, or its generated one for `after`). */
  readonly id: string;
  readonly event: { readonly type: string };
  /** Milliseconds it had left on the clock when saved (0 when already due). */
  readonly remainingMs: number;
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
   * loads the snapshot and its pending delayed events, which resume with their remaining
   * time, and saves after each change. Messages that arrive while it loads wait in the
   * mailbox. Delayed events the machine sends to *other* actors are not restored.
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

class MachineInstance<M extends Message> implements BehaviorInstance<M> {
  private actor: Actor<AnyStateMachine> | undefined;
  /** Set while the runtime is inside `actor.send`: errors then surface from `handle`. */
  private handling = false;
  private stopped = false;
  readonly ready: Promise<void> | undefined;
  /** With persistence: when each pending self-addressed delayed event is due, by XState's scheduled-event key. */
  private readonly due = new Map<string, number>();
  /** Bumped whenever a delayed event is scheduled or cancelled, so `handle` knows to save. */
  private timerChanges = 0;
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
    const options: Record<string, unknown> = { clock: this.lifecycle.clock };
    if (this.input !== undefined) options.input = this.input;
    if (saved !== undefined) options.snapshot = saved.snapshot;
    const actor = createActor(this.machine, options);
    this.actor = actor;
    if (this.persistence !== undefined) this.trackTimers(actor);
    actor.subscribe({
      next: () => {
        // A delayed event fired outside any message: its change is saved too.
        if (!this.handling && !this.stopped && this.persistence !== undefined) {
          this.save().catch((error: unknown) => {
            if (!this.stopped) this.lifecycle.failAsync(error);
          });
        }
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
      // XState restores the snapshot but not its pending delayed events: put them back.
      const scheduler = actor.system.scheduler;
      for (const timer of saved?.timers ?? []) {
        scheduler.schedule(actor, actor, timer.event, Math.max(0, timer.remainingMs), timer.id);
      }
    } finally {
      this.handling = false;
    }
    this.check();
  }

  /** Records when each self-addressed delayed event is due, on the runtime's clock. */
  private trackTimers(actor: Actor<AnyStateMachine>): void {
    const scheduler = actor.system.scheduler;
    const schedule = scheduler.schedule;
    const cancel = scheduler.cancel;
    const clock = this.lifecycle.clock;
    scheduler.schedule = (source, target, event, delay, id) => {
      const key = id ?? Math.random().toString(36).slice(2);
      if (source === actor && target === actor)
        this.due.set(`${source.sessionId}.${key}`, clock.now() + delay);
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
    const timersBefore = this.timerChanges;
    this.handling = true;
    try {
      actor.send(message);
    } finally {
      this.handling = false;
    }
    const after = this.check();
    // An unchanged snapshot means no transition changed state or context; ask XState whether
    // the event was accepted at all (action-only transitions also leave the snapshot as is).
    if (after === before && !before.can(message)) return UNHANDLED;
    if (this.persistence !== undefined && (after !== before || this.timerChanges !== timersBefore)) {
      return this.save();
    }
    return undefined;
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

  /** Queues a save of the state as it is now; resolves once it (and every earlier one) is stored. */
  private save(): Promise<void> {
    const state = this.capture();
    const persistence = this.persistence as MachinePersistence;
    this.saving = this.saving.then(() => persistence.save(state));
    return this.saving;
  }

  private capture(): PersistedMachine {
    const actor = this.actor as Actor<AnyStateMachine>;
    const now = this.lifecycle.clock.now();
    const scheduled = actor.system.getSnapshot()._scheduledEvents;
    const timers: PersistedTimer[] = [];
    for (const [key, dueAt] of this.due) {
      const entry = scheduled[key];
      if (entry === undefined) {
        this.due.delete(key); // fired
        continue;
      }
      timers.push({ id: entry.id, event: entry.event, remainingMs: Math.max(0, dueAt - now) });
    }
    return { snapshot: actor.getPersistedSnapshot(), timers };
  }

  /** Turns the snapshot's status into the actor's fate: `error` throws, `done` stops normally. */
  private check(): ReturnType<Actor<AnyStateMachine>['getSnapshot']> {
    const snapshot = (this.actor as Actor<AnyStateMachine>).getSnapshot();
    if (snapshot.status === 'error') throw snapshot.error;
    if (snapshot.status === 'done') this.ctx.stop();
    return snapshot;
  }
}
