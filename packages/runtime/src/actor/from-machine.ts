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

/** Options of {@link fromMachine}. */
export interface FromMachineOptions<TMachine extends AnyStateMachine> {
  /** The machine's input, given at every start (and restart). */
  readonly input?: InputFrom<TMachine>;
  /**
   * What `system.tree()` shows for this actor (its `details`), from the machine's snapshot.
   * Default: `{ state: snapshot.value }`, the machine's current state.
   */
  readonly describe?: (snapshot: SnapshotFrom<TMachine>) => unknown;
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
 * - **Restart.** A fresh XState actor from the machine's initial state (with `input`).
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
      return new MachineInstance<MachineMessage<TMachine>>(resolved, options.input, ctx, lifecycle, describe);
    },
  };
}

class MachineInstance<M extends Message> implements BehaviorInstance<M> {
  private readonly actor: Actor<AnyStateMachine>;
  /** Set while the runtime is inside `actor.send`: errors then surface from `handle`. */
  private handling = false;
  private stopped = false;

  constructor(
    machine: AnyStateMachine,
    input: unknown,
    private readonly ctx: ActorContext<M>,
    lifecycle: Lifecycle,
    private readonly describeSnapshot: ((snapshot: unknown) => unknown) | undefined,
  ) {
    this.actor = createActor(
      machine,
      input === undefined ? { clock: lifecycle.clock } : { clock: lifecycle.clock, input },
    );
    this.actor.subscribe({
      // Always observed: without an error observer XState rethrows and kills the process.
      error: (error: unknown) => {
        if (!this.handling && !this.stopped) lifecycle.failAsync(error);
      },
      complete: () => {
        if (!this.handling && !this.stopped && this.actor.getSnapshot().status === 'done') ctx.stop();
      },
    });
    this.handling = true;
    this.actor.start();
    this.handling = false;
    this.check();
  }

  handle(message: M): undefined | typeof UNHANDLED {
    const before = this.actor.getSnapshot();
    this.handling = true;
    try {
      this.actor.send(message);
    } finally {
      this.handling = false;
    }
    const after = this.check();
    // An unchanged snapshot means no transition changed state or context; ask XState whether
    // the event was accepted at all (action-only transitions also leave the snapshot as is).
    if (after === before && !before.can(message)) return UNHANDLED;
    return undefined;
  }

  terminated(signal: Terminated): undefined | typeof UNHANDLED {
    return this.handle(signal as unknown as M);
  }

  stop(): void {
    this.stopped = true;
    this.actor.stop();
  }

  describe(): unknown {
    const snapshot = this.actor.getSnapshot();
    return this.describeSnapshot === undefined ? { state: snapshot.value } : this.describeSnapshot(snapshot);
  }

  /** Turns the snapshot's status into the actor's fate: `error` throws, `done` stops normally. */
  private check(): ReturnType<Actor<AnyStateMachine>['getSnapshot']> {
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'error') throw snapshot.error;
    if (snapshot.status === 'done') this.ctx.stop();
    return snapshot;
  }
}
