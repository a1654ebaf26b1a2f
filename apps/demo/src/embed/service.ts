import { createServer } from 'node:http';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';

type Hits = { type: 'Hits'; path: string; count: number };
type Hit = { type: 'Hit'; path: string; replyTo: ActorRef<Hits> };

/** An existing node:http service that keeps its state in an actor. */
export function startService(port: number) {
  // The system starts with the service…
  const system = ActorSystem.start({ name: 'hit-counter' });
  const counter = system.spawn(
    receive<Map<string, number>, Hit>(new Map(), (hits, msg, ctx) => {
      const count = (hits.get(msg.path) ?? 0) + 1;
      hits.set(msg.path, count);
      ctx.reply(msg.replyTo, { type: 'Hits', path: msg.path, count });
      return hits;
    }),
    { name: 'counter' },
  );

  // …handlers ask actors, with a timeout…
  const server = createServer(async (req, res) => {
    try {
      const path = req.url ?? '/';
      const hits = await counter.ask<Hits>((replyTo) => ({ type: 'Hit', path, replyTo }), {
        timeoutMs: 1000,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hits));
    } catch (error) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(String(error));
    }
  });
  server.listen(port, '127.0.0.1');

  // …and SIGTERM drains gracefully: stop taking requests, let actors finish, then exit.
  const onSigterm = () => void stop().then(() => process.exit(0));
  const stop = async () => {
    process.off('SIGTERM', onSigterm);
    await new Promise((resolve) => server.close(resolve));
    await system.shutdown({ timeoutMs: 5000 });
  };
  process.once('SIGTERM', onSigterm);
  return { server, system, stop };
}
