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
 * After every message, delayed event or timer that changes the machine (its state, context,
 * pending delayed events or keyed `ctx.timers`), the snapshot is stored before the actor takes
 * its next message. At every start — spawn, supervised restart, a new process — it is
 * restored, **with its pending delayed events (`after`, delayed `raise` keyed or not, delayed
 * `sendTo` its XState children) and `ctx.timers`, each due at its original deadline on the
 * system clock**, which XState's own `getPersistedSnapshot` loses. A deadline passed while no
 * process ran the actor fires at once at restore (overdue ones in deadline order): a crash
 * never postpones a timer. Messages wait in the mailbox while it loads. Two incarnations
 * cannot both write (revision check, `ConcurrencyError`); a failed save fails the actor; a
 * stored state that cannot be decoded is a `DecodeError` at start. After a durable delete of
 * its id (a `deleteState` write: a tombstone) it starts fresh, and its first save
 * continues the revision.
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
        if (stored.deleted === true) return undefined;
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
