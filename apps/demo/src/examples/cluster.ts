import { joinCluster, serviceKey } from '@troupe/cluster';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';

type Order = { type: 'place'; item: string; replyTo: ActorRef<Placed> };
type Placed = { type: 'placed'; item: string; by: string };
const orders = serviceKey<Order>('orders');
const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const cluster = process.env.CLUSTER ?? 'shop';

// Node "a" (usually its own process or machine) runs the orders actor and registers it.
const systemA = ActorSystem.start({ name: 'a' });
const a = await joinCluster(systemA, { servers, cluster, node: 'a' });
const ordersActor = systemA.spawn(
  receive<null, Order>(null, (state, order) => {
    order.replyTo.tell({ type: 'placed', item: order.item, by: 'a' });
    return state;
  }),
  { name: 'orders' },
);
a.register(orders, ordersActor);

// Node "b" joins and finds it at once: joinCluster resolves with the cluster's registrations.
const systemB = ActorSystem.start({ name: 'b' });
const b = await joinCluster(systemB, { servers, cluster, node: 'b' });
const [found] = await b.find(orders);
if (found === undefined) throw new Error('the registry should list a/user/orders');
const placed = await found.ask<Placed>((replyTo) => ({ type: 'place', item: 'tea', replyTo }));
console.log(`${placed.item} placed by ${placed.by}`);

// Or by path: whatever lives at /user/orders on node a now.
const byPath = await b.resolve<Order>({ node: 'a', path: '/user/orders' });
console.log(`resolved ${b.addressOf(byPath).replace(/#.*/, '')}`);

await systemB.shutdown(); // leaves the cluster: a sees NodeLeft at once
await systemA.shutdown();
