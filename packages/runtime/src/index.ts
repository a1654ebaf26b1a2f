/**
 * @troupe/runtime — channels (mpsc, broadcast, watch) with tokio's semantics, and an actor
 * system on top: typed refs, bounded mailboxes, XState or `receive` behaviours, ask, death
 * watch, timers and dead letters.
 *
 * @packageDocumentation
 */

export type { ActorContext } from './actor/actor-context.js';
export type { ActorAddress, ActorRef, AskOptions, Message } from './actor/actor-ref.js';
export type { ActorStats, ActorStatus, ActorTreeNode } from './actor/actor-stats.js';
export { type AddressParts, formatAddress, parseAddress } from './actor/address.js';
export { type Behavior, type ReceiveOptions, receive, type Terminated } from './actor/behavior.js';
export { ActorStoppedError, AskTimeoutError, MessageDroppedError } from './actor/errors.js';
export type {
  ActorExited,
  ActorFailed,
  ActorRestarted,
  ActorStarted,
  ActorStopped,
  ClusterEvent,
  DeadLetter,
  DeadLetterReason,
  EntityActivated,
  EntityPassivated,
  EventStream,
  MessageDropped,
  MessagesLost,
  NodeDown,
  NodeLeft,
  NodeUp,
  ShardHandedOff,
  ShardStarted,
  SupervisorEscalated,
  SystemEvent,
} from './actor/events.js';
export type { ExitReason } from './actor/exit-reason.js';
export {
  FOREIGN_REF,
  type ForeignRef,
  type ForeignWatcher,
  type ForeignWatchHooks,
  isForeignRef,
} from './actor/foreign-ref.js';
export {
  type FromMachineOptions,
  fromMachine,
  type MachineMessage,
  type MachinePersistence,
  type PersistedMachine,
} from './actor/from-machine.js';
export type { MailboxOptions, SpawnOptions } from './actor/spawn-options.js';
export type { SystemView } from './actor/system-view.js';
export type { DelayedEvent, Timers } from './actor/timers.js';
export {
  currentTraceContext,
  type TracingOptions,
  withoutTracing,
  withTraceContext,
} from './actor/tracing.js';
export type { BoundedQueueOptions } from './channel/bounded-queue.js';
export { BroadcastReceiver, BroadcastSender, broadcast } from './channel/broadcast.js';
export { type MpscOptions, mpsc, Receiver, Sender } from './channel/mpsc.js';
export type { OverflowPolicy } from './channel/overflow.js';
export type {
  Aborted,
  BroadcastRecvResult,
  BroadcastTryRecvResult,
  Closed,
  Dropped,
  Empty,
  Full,
  Lagged,
  Ok,
  Received,
  RecvAborted,
  RecvClosed,
  RecvResult,
  SendResult,
  TryRecvResult,
  TrySendResult,
  WaitOptions,
} from './channel/results.js';
export {
  type ChangedResult,
  WatchReceiver,
  WatchSender,
  type WatchSendResult,
  watch,
} from './channel/watch.js';
export type { IdGenerator } from './ids.js';
export { DEFAULT_LOG_LEVEL, defaultLogger, type Logger } from './logger.js';
export { InvalidOptionsError, OptionChecks } from './options.js';
export type { Backoff } from './supervisor/backoff.js';
export {
  type ChildSpec,
  type ResolvedChildSpec,
  type RestartType,
  validateChildSpec,
} from './supervisor/child-spec.js';
export type { Intensity } from './supervisor/restart-window.js';
export type { Strategy } from './supervisor/strategy.js';
export {
  type ChildInfo,
  RestartIntensityError,
  Supervisor,
  type SupervisorMessage,
  type SupervisorOptions,
  type SupervisorReply,
  supervisor,
} from './supervisor/supervisor.js';
export { ActorSystem, type ActorSystemOptions, type ShutdownOptions } from './system/actor-system.js';
export { type Clock, systemClock } from './time/clock.js';
