// A node process for the durable-topic crash test: subscribes "orders" as "billing" and prints
// each handled event's stream sequence on stdout ("seq <n>"), handling one every 5 ms.
// Usage: node --import tsx --conditions=@troupe/source durable-node.ts <servers> <cluster>
import { durableTopic, joinCluster } from '@troupe/cluster';
import { ActorSystem } from '@troupe/runtime';

const [servers = '', cluster = ''] = process.argv.slice(2);
const system = ActorSystem.start({ name: 'sub' });
const node = await joinCluster(system, { servers, cluster, node: 'sub' });
const orders = await durableTopic<{ type: 'order'; n: number }>(node, 'orders');
system.spawn(
  orders.subscriber({
    name: 'billing',
    start: 'all',
    ackWaitMs: 1000,
    maxAckPending: 8,
    initial: null,
    handle: async (s, _e, info) => {
      await new Promise((r) => setTimeout(r, 5));
      process.stdout.write(`seq ${info.seq}\n`);
      return s;
    },
  }),
);
process.stdout.write('ready\n');
