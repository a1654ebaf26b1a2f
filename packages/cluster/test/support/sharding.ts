// Nodes with sharding for tests: each an actor system of its own, joined to one NATS server
// with JetStream, every system event recorded. `stopAll()` shuts them down (call it after each).
import {
  type AnyEntityType,
  type ClusterNode,
  joinCluster,
  type Sharding,
  type ShardingOptions,
  startSharding,
} from '@troupe/cluster';
import { ActorSystem, type SystemEvent } from '@troupe/runtime';

export interface ShardNode {
  readonly system: ActorSystem;
  readonly node: ClusterNode;
  readonly sharding: Sharding;
  readonly events: SystemEvent[];
  /** Shards of `type` started on this node now. */
  owned(type: string): number;
}

/** Test settings: short leases and rounds (the defaults are seconds). */
export const FAST: Omit<ShardingOptions, 'entities'> = {
  shards: 32,
  leaseMs: 1200,
  skewMs: 100,
  rebalance: { intervalMs: 100, maxMoves: 8 },
};

let clusters = 0;

export class ShardCluster {
  readonly name = `shards${++clusters}-${process.pid}`;
  private readonly started: ShardNode[] = [];

  constructor(private readonly url: string) {}

  async start(
    name: string,
    entities: readonly AnyEntityType[],
    extra: Partial<ShardingOptions> = {},
  ): Promise<ShardNode> {
    const system = ActorSystem.start({ name, askTimeoutMs: 5000 });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    const node = await joinCluster(system, {
      servers: this.url,
      cluster: this.name,
      node: name,
      failureDetector: { heartbeatMs: 100, downAfterMs: 600 },
    });
    const sharding = await startSharding(node, { ...FAST, ...extra, entities });
    const n: ShardNode = {
      system,
      node,
      sharding,
      events,
      owned: (type) => sharding.stats().types[type]?.shards ?? 0,
    };
    this.started.push(n);
    return n;
  }

  async stopAll(): Promise<void> {
    for (const n of this.started.splice(0).reverse()) await n.system.shutdown();
  }
}
