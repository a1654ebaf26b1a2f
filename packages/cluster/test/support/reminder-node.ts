// A node process for the reminder test: hosts the alarm type (reminders in a SQLite file shared
// with the test process), prints "ready" once it owns shards, then runs until killed.
// Usage: node --import tsx --conditions=@troupe/source reminder-node.ts <servers> <cluster> <db file>
import { joinCluster, startSharding } from '@troupe/cluster';
import { sqliteStore } from '@troupe/persistence';
import { ActorSystem } from '@troupe/runtime';
import { alarmType } from './alarm.js';

const [servers = '', cluster = '', file = ''] = process.argv.slice(2);
const system = ActorSystem.start({ name: 'b' });
const node = await joinCluster(system, {
  servers,
  cluster,
  node: 'b',
  failureDetector: { heartbeatMs: 100, downAfterMs: 600 },
});
const store = sqliteStore({ path: file });
const Alarm = alarmType(store, (id, dueAt) => process.stdout.write(`fired ${id} ${dueAt}\n`));
const sharding = await startSharding(node, {
  entities: [Alarm],
  shards: 32,
  leaseMs: 1200,
  skewMs: 100,
  rebalance: { intervalMs: 100, maxMoves: 8 },
});
const timer = setInterval(() => {
  if ((sharding.stats().types.alarm?.shards ?? 0) >= 8) {
    clearInterval(timer);
    process.stdout.write('ready\n');
  }
}, 20);
