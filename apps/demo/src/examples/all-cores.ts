import { availableParallelism } from 'node:os';
import { joinCluster, onAllCores, serviceKey } from '@troupe/cluster';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';

type Square = { type: 'square'; n: number; replyTo: ActorRef<Squared> };
type Squared = { type: 'squared'; square: number; by: string };
const squarers = serviceKey<Square>('squarer');

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const cores = Number(process.env.CORES ?? availableParallelism());
const jobs = Number(process.env.JOBS ?? 1000);

// One process per core, each a node of the cluster, all running this same file.
const core = onAllCores({ count: cores });
if (core.role === 'primary') {
  const codes = await core.exited;
  process.exitCode = codes.every((code) => code === 0) ? 0 : 1;
} else {
  const system = ActorSystem.start({ name: core.node });
  system.shutdownOnSignals(); // the primary forwards Ctrl-C and SIGTERM
  const node = await joinCluster(system, { servers, cluster: 'all-cores', node: core.node });

  // Every node serves squares, registered cluster-wide under one key.
  const squarer = system.spawn(
    receive<null, Square>(null, (state, m) => {
      m.replyTo.tell({ type: 'squared', square: m.n * m.n, by: core.node });
      return state;
    }),
    { name: 'squarer' },
  );
  node.register(squarers, squarer);

  if (core.index === 0) {
    // Wait until every core's squarer is known, then spread the jobs over them.
    const all = await new Promise<readonly ActorRef<Square>[]>((resolve) => {
      node.subscribe(squarers, (refs) => refs.length === cores && resolve(refs));
    });
    const replies = await Promise.all(
      Array.from({ length: jobs }, (_, n) =>
        (all[n % all.length] as ActorRef<Square>).ask<Squared>((replyTo) => ({ type: 'square', n, replyTo })),
      ),
    );
    const sum = replies.reduce((total, r) => total + r.square, 0);
    const by = new Set(replies.map((r) => r.by));
    console.log(`${jobs} squares from ${by.size} nodes, sum ${sum}`);
    process.kill(process.ppid, 'SIGTERM'); // done: the primary stops every node gracefully
  }
}
