// A node process for the durable-topic crash tests: subscribes "orders" as "billing" and prints
// each handled event's stream sequence and whether it was redelivered on stdout
// ("seq <n> <0|1>"), handling one every 5 ms, with the subscriber's default ack wait.
// Usage: node --import tsx --conditions=@troupe/source durable-node.ts <servers> <cluster> [maxAckPending]
import { durableTopic, joinCluster } from '@troupe/cluster';
import { ActorSystem } from '@troupe/runtime';

const [servers = '', cluster = '', pending = '8'] = process.argv.slice(2);
const system = ActorSystem.start({ name: 'sub' });
const node = await joinCluster(system, { servers, cluster, node: 'sub' });
const orders = await durableTopic<{ type: 'order'; n: number }>(node, 'orders');
system.spawn(
  orders.subscriber({
    name: 'billing',
    start: 'all',
    maxAckPending: Number(pending),
    initial: null,
    handle: async (s, _e, info) => {
      await new Promise((r) => setTimeout(r, 5));
      process.stdout.write(`seq ${info.seq} ${info.redelivered ? 1 : 0}\n`);
      return s;
    },
  }),
);
process.stdout.write('ready\n');
