/**
 * @troupe/cluster — Troupe across processes and machines, on NATS. `joinCluster(system, …)`
 * makes the system a node: refs travel inside messages and work on every node (`tell`, `send`
 * with backpressure, `ask`, `ctx.watch`), membership with failure detection publishes
 * `NodeUp` / `NodeLeft` / `NodeDown` on `system.events`, and a typed registry spans the cluster.
 * Supervision stays local, as in Akka Typed: a supervisor supervises actors of its own node;
 * across nodes there is death watch.
 *
 * @packageDocumentation
 */

export { type AllCoresOptions, type CoreRole, onAllCores } from './all-cores.js';
export { type ClusterTopic, type ClusterTopicStats, clusterTopic } from './cluster-topic.js';
export { type Codec, jsonCodec, type RefCodec } from './codec.js';
export {
  type DeliveryInfo,
  type DurableDelivery,
  type DurableStart,
  type DurableSubscriberOptions,
  type DurableTopic,
  type DurableTopicOptions,
  durableTopic,
} from './durable-topic.js';
export {
  ActorNotFoundError,
  ClusterJoinError,
  DurablePublishError,
  EntityUnreachableError,
  LookupTimeoutError,
  MessageEncodeError,
  NodeUnreachableError,
} from './errors.js';
export { RemoteActorError } from './exit-reasons.js';
export type { ActorLocation } from './finding.js';
export { type GroupRouterOptions, type GroupRouting, groupRouter } from './group-router.js';
export { joinCluster } from './join.js';
export { ClusterNode } from './node.js';
export type { ClusterAuth, ClusterTls, FailureDetectorOptions, JoinOptions, LinkOptions } from './options.js';
export { type ServiceKey, serviceKey } from './service-key.js';
export type { Sharding, ShardingOptions } from './sharding/api.js';
export type { EntityContext } from './sharding/entity-context.js';
export {
  type AnyEntityType,
  type EntityType,
  type EntityTypeOptions,
  entityType,
  type Fencing,
  type PassivationOptions,
} from './sharding/entity-type.js';
export type {
  ReminderMessage,
  ReminderSchedule,
  ReminderStore,
  Reminders,
} from './sharding/reminders.js';
export { startSharding } from './sharding/sharding.js';
export type { ShardingStats, TypeCounters } from './sharding/stats.js';
export type { ClusterStats, PeerCounters, PeerStats } from './stats.js';
