// In-process cluster nodes for tests: each an actor system of its own joined to one NATS server,
// with every system event it publishes recorded. `stopAll()` shuts them down (call it after each).
import { type ClusterNode, type JoinOptions, joinCluster } from '@troupe/cluster';
import { ActorSystem, type DeadLetter, type SystemEvent } from '@troupe/runtime';
import { waitFor } from '../../../../test/support/wait.js';

export interface TestNode {
  readonly system: ActorSystem;
  readonly node: ClusterNode;
  readonly events: SystemEvent[];
  deadLetters(): DeadLetter[];
}

export const FAST_DETECTOR = { heartbeatMs: 100, downAfterMs: 600 } as const;

export class TestCluster {
  private readonly started: TestNode[] = [];
  private static count = 0;
  readonly name: string;

  constructor(
    private readonly url: string,
    name?: string,
  ) {
    this.name = name ?? `t${++TestCluster.count}-${process.pid}`;
  }

  /** Starts a node named `name` (its system too) and records its events. */
  async start(name: string, extra: Partial<JoinOptions> = {}, askTimeoutMs = 2000): Promise<TestNode> {
    const system = ActorSystem.start({ name, askTimeoutMs });
    const events: SystemEvent[] = [];
    system.events.subscribe((e) => events.push(e));
    let node: ClusterNode;
    try {
      node = await joinCluster(system, {
        servers: this.url,
        cluster: this.name,
        node: name,
        failureDetector: FAST_DETECTOR,
        ...extra,
      });
    } catch (error) {
      await system.shutdown();
      throw error;
    }
    const n: TestNode = {
      system,
      node,
      events,
      deadLetters: () => events.filter((e): e is DeadLetter => e.type === 'DeadLetter'),
    };
    this.started.push(n);
    return n;
  }

  /** Starts nodes and waits until each sees every other up. */
  async nodes(...names: string[]): Promise<TestNode[]> {
    const nodes: TestNode[] = [];
    for (const name of names) nodes.push(await this.start(name));
    await waitFor(
      () => nodes.every((n) => n.node.members().length === names.length - 1),
      `${names.join(', ')} see each other`,
    );
    return nodes;
  }

  async stopAll(): Promise<void> {
    for (const n of this.started.splice(0).reverse()) await n.system.shutdown();
  }
}
