import {
  type ActorContext,
  type Behavior,
  type FromMachineOptions,
  fromMachine,
  type MachineMessage,
  type MachinePersistence,
  type PersistedMachine,
} from '@troupe/runtime';
import type { AnyStateMachine } from 'xstate';
import { decode, encode } from './codec.js';
import { DecodeError } from './errors.js';
import { groupCommitOf } from './group-commit.js';
import type { PersistenceStore } from './store.js';

/** Options of {@link persistentMachine}: `fromMachine`'s, plus where the machine is kept. */
export interface PersistentMachineOptions<TMachine extends AnyStateMachine>
  extends Omit<FromMachineOptions<TMachine>, 'persistence'> {
  readonly persistenceId: string;
  readonly store: PersistenceStore;
}

/**
 * An XState v5 machine whose state survives restarts and crashes: `fromMachine` with its
 * snapshot kept in `store` as durable state (revisioned, group-committed).
 *
 * After every message or delayed event that changes the machine (its state, context, or
 * pending delayed events), the snapshot is stored before the actor takes its next message.
 * At every start — spawn, supervised restart, a new process — it is restored, **with its
 * pending delayed events (`after` transitions, delayed `raise` with or without an `id`) put
 * back on the clock with the time they had left when saved**, which XState's own
 * `getPersistedSnapshot` loses. (Time spent while no process ran the actor does not count:
 * the remaining time resumes at restore.) Messages wait in the mailbox while it loads. Two
 * incarnations cannot both write (revision check, `ConcurrencyError`); a failed save fails
 * the actor; a stored state that cannot be decoded is a `DecodeError` at start.
 */
export function persistentMachine<TMachine extends AnyStateMachine>(
  machine: TMachine | ((ctx: ActorContext<MachineMessage<TMachine>>) => TMachine),
  options: PersistentMachineOptions<TMachine>,
): Behavior<MachineMessage<TMachine>> {
  const { persistenceId: pid, store, ...machineOptions } = options;
  if (typeof pid !== 'string' || pid.length === 0) {
    throw new TypeError('persistentMachine: persistenceId must be a non-empty string');
  }
  const commit = groupCommitOf(store);
  const persistence = (): MachinePersistence => {
    let revision = 0;
    return {
      load: async () => {
        const stored = await store.loadState(pid);
        if (stored === undefined) return undefined;
        revision = stored.revision;
        const what = `machine state revision ${stored.revision}`;
        const value = decode(stored.payload, pid, what, stored.revision);
        if (
          value === null ||
          typeof value !== 'object' ||
          !('snapshot' in value) ||
          !Array.isArray((value as { timers?: unknown }).timers)
        ) {
          throw new DecodeError(pid, what, stored.revision, {
            cause: new TypeError('expected { snapshot, timers } as fromMachine saves it'),
          });
        }
        return value as PersistedMachine;
      },
      save: async (state) => {
        const payload = encode(state, `${pid}: the machine's snapshot`);
        await commit.submit({ kind: 'state', persistenceId: pid, expectedRevision: revision, payload });
        revision++;
      },
    };
  };
  return fromMachine(machine, { ...machineOptions, persistence });
}
