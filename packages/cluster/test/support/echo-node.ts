// A node process for fault tests: joins the cluster, registers an actor under "echo" that
// answers `ping` and holds `hold` asks forever, and runs until killed.
// Usage: node --import tsx --conditions=@troupe/source echo-node.ts <servers> <cluster> <node>
import { joinCluster, serviceKey } from '@troupe/cluster';
import { type ActorRef, ActorSystem, type Message, receive } from '@troupe/runtime';

const [servers = '', cluster = '', name = ''] = process.argv.slice(2);
const system = ActorSystem.start({ name });
const node = await joinCluster(system, {
  servers,
  cluster,
  node: name,
  failureDetector: { heartbeatMs: 100, downAfterMs: 500 },
});
type Msg = { type: 'ping'; replyTo: ActorRef<Message> } | { type: 'hold'; replyTo: ActorRef<Message> };
const echo = system.spawn(
  receive<null, Msg>(null, (s, m) => {
    if (m.type === 'ping') m.replyTo.tell({ type: 'pong' });
    return s;
  }),
  { name: 'echo' },
);
node.register(serviceKey<Msg>('echo'), echo);
system.shutdownOnSignals();
