/**
 * @troupe/persistence — actors whose state survives restarts and crashes: event-sourced and
 * durable-state behaviours and persistent XState machines, on one store contract with memory,
 * SQLite (embedded default) and PostgreSQL backends, group commit, and projections.
 *
 * @packageDocumentation
 */

export type { EventAdapter } from './codec.js';
export { type DurableStateOptions, durableState } from './durable-state.js';
export { type DeleteEffect, type DurableEffect, Effect } from './effect.js';
export {
  ConcurrencyError,
  DecodeError,
  RecoveryError,
  StoreClosedError,
  StoreUnavailableError,
  type StoreUnavailableReason,
} from './errors.js';
export { type EventSourcedOptions, eventSourced } from './event-sourced.js';
export { type PersistentMachineOptions, persistentMachine } from './persistent-machine.js';
export {
  type ProjectedEvent,
  type ProjectionMessage,
  type ProjectionOptions,
  type ProjectionStatus,
  projection,
} from './projection.js';
export type { SnapshotReader } from './recovery.js';
export type { SnapshotSelectionCriteria } from './snapshot-criteria.js';
export type {
  EventRecord,
  JournalEntry,
  JournalQuery,
  NewEvent,
  PersistenceStore,
  SnapshotToSave,
  StoredSnapshot,
  StoredState,
  Write,
  WriteResult,
} from './store.js';
export { memoryStore } from './stores/memory-store.js';
export { type PostgresStoreOptions, postgresStore } from './stores/postgres-store.js';
export { type SqliteStoreOptions, sqliteStore } from './stores/sqlite-store.js';
