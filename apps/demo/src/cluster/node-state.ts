/** What a node process reports to the launcher (`GET /state`) and prints when it ends (`final …`). */
import type { ClusterStats } from '@troupe/cluster';
import type { ActorTreeNode } from '@troupe/runtime';
import type { FlowCounters } from './flow.js';
import type { Role } from './roles.js';

/** The launcher's instructions to a node process (its only argument, as JSON). */
export interface NodeConfig {
  readonly index: number;
  readonly count: number;
  readonly nats: string;
  readonly cluster: string;
  /** Port of this node's control server on 127.0.0.1 (state, metrics, controls). */
  readonly port: number;
  /** Directory of the node's SQLite file (`<node>.db`). */
  readonly dataDir: string;
  readonly blockMs: number;
  readonly executeMs: number;
  readonly logLevel: string;
  /** OTLP/HTTP endpoint for traces (e.g. http://127.0.0.1:4318/v1/traces), if any. */
  readonly otlp?: string;
}

export interface NodeEvent {
  /** Wall-clock ms. */
  readonly at: number;
  readonly text: string;
}

export interface NodeState {
  readonly node: string;
  readonly pid: number;
  readonly roles: readonly Role[];
  readonly uptimeS: number;
  readonly counters: FlowCounters;
  readonly deadLetters: Readonly<Record<string, number>>;
  readonly cluster: ClusterStats;
  readonly tree: ActorTreeNode;
  readonly workers: readonly string[];
  /** Cluster events seen by this node (NodeUp, NodeDown, Terminated …), newest last. */
  readonly events: readonly NodeEvent[];
}
