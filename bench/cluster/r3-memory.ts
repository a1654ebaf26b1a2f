/**
 * R3: memory under backpressure across the wire. Node A (this process) `send`s to a slow
 * consumer on node B (1 ms per message, 64-slot mailbox) for `--seconds` (default 30); both
 * report heap and RSS every 5 s. Writes bench/R3-MEMORY.md.
 *
 *   node --expose-gc --import tsx --conditions=@troupe/source bench/cluster/r3-memory.ts [--seconds 30]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { joinCluster } from '@troupe/cluster';
import { type ActorRef, ActorSystem } from '@troupe/runtime';
import { startNatsServer } from '../../test/support/nats-server.js';
import { SLOW } from './keys.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const seconds = Number(values.seconds);
const server = await startNatsServer();
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=@troupe/source',
    fileURLToPath(new URL('./peer.ts', import.meta.url)),
    'slow',
    server.url,
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
let peerMemory = { handled: 0, heapUsed: 0, rss: 0 };
child.stdout.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) peerMemory = JSON.parse(line);
});
const system = ActorSystem.start({ name: 'a' });
const node = await joinCluster(system, { servers: server.url, cluster: 'bench', node: 'a' });
let target: ActorRef<{ type: 'n'; n: number }> | undefined;
while (target === undefined) {
  [target] = await node.find(SLOW);
  await new Promise((r) => setTimeout(r, 20));
}

const rows: string[] = [];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
let sent = 0;
let running = true;
const producing = (async () => {
  while (running) await (target as ActorRef<{ type: 'n'; n: number }>).send({ type: 'n', n: sent++ });
})();
const t0 = Date.now();
for (let t = 5; t <= seconds; t += 5) {
  await new Promise((r) => setTimeout(r, t0 + t * 1000 - Date.now()));
  globalThis.gc?.();
  const m = process.memoryUsage();
  rows.push(
    `| ${t} s | ${sent} | ${peerMemory.handled} | ${mb(m.heapUsed)} | ${mb(m.rss)} | ${mb(peerMemory.heapUsed)} | ${mb(peerMemory.rss)} |`,
  );
  console.error(rows.at(-1));
}
running = false;
await producing;
const report = `# R3: memory while sending to a slow remote consumer

Node A \`await ref.send(m)\`s in a loop to an actor on node B (another process, loopback NATS) that takes
1 ms per message behind a 64-slot mailbox, for ${seconds} s. \`send\` resolves once B's mailbox accepted the
message, so A runs at B's pace. Heap after a forced GC on A (\`--expose-gc\`); B's heap is as sampled.
Measured ${new Date().toISOString().slice(0, 10)} on ${process.version}.

| time | sent by A | handled by B | A heap MB | A RSS MB | B heap MB | B RSS MB |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}
`;
writeFileSync(fileURLToPath(new URL('../R3-MEMORY.md', import.meta.url)), report);
console.log(report);
await system.shutdown();
child.kill('SIGKILL');
await server.stop();
