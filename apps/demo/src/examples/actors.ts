import {
  type Batch,
  batcher,
  CircuitBreaker,
  CircuitOpenError,
  circuitBreaker,
  countWindow,
  router,
  type WindowAggregate,
} from '@troupe/actors';
import { ActorSystem, type Message, receive } from '@troupe/runtime';

const system = ActorSystem.start({ name: 'actors' });

// An actor that prints what it receives: the target of the examples below.
const printer = <M extends Message>(print: (message: M) => void) =>
  receive<null, M>(null, (state, message) => {
    print(message);
    return state;
  });

// CircuitBreaker: after 2 consecutive failures the circuit opens and calls fail fast.
let healthy = false;
const breaker = system.spawn(
  circuitBreaker<string, string>({
    call: async (name) => {
      if (!healthy) throw new Error('service down');
      return `hello ${name}`;
    },
    failureThreshold: 2,
    resetTimeoutMs: 50,
  }),
);
for (let i = 0; i < 3; i++) {
  await CircuitBreaker.call(breaker, 'ada').catch((error: Error) =>
    console.log('breaker:', error instanceof CircuitOpenError ? 'open, failing fast' : error.message),
  );
}
healthy = true;
await new Promise((resolve) => setTimeout(resolve, 60)); // past resetTimeoutMs: one trial call
console.log('breaker:', await CircuitBreaker.call(breaker, 'ada'));

// Window: aggregates per key, here every 3 readings of a sensor.
type Reading = { type: 'Reading'; sensor: string; celsius: number };
const averages = system.spawn(
  printer<WindowAggregate>((w) => console.log('window:', w.key, 'avg', w.avg, 'over', w.count)),
);
const window = system.spawn(
  countWindow<Reading>({ size: 3, key: (r) => r.sensor, value: (r) => r.celsius, target: averages }),
);
for (const celsius of [20, 22, 27]) window.tell({ type: 'Reading', sensor: 'kitchen', celsius });

// Batcher: groups items into batches of at most 2, or whatever is there after 100 ms.
const batches = system.spawn(printer<Batch<number>>((b) => console.log('batch:', b.items)));
const batch = system.spawn(batcher<number>({ maxSize: 2, maxAgeMs: 100, target: batches }));
for (const item of [1, 2, 3]) batch.tell({ type: 'Add', item });
batch.tell({ type: 'Flush' });

// Router: one ref in front of a pool of supervised workers; consistent hashing keeps a key on one worker.
type Job = { type: 'Job'; customer: string };
const pool = system.spawn(
  router<Job>({
    size: 3,
    routing: { consistentHash: (job) => job.customer },
    worker: () =>
      receive<null, Job>(null, (state, job, ctx) => {
        console.log('router:', job.customer, 'on', ctx.self.name);
        return state;
      }),
  }),
  { name: 'jobs' },
);
for (const customer of ['ann', 'bob', 'ann']) pool.tell({ type: 'Job', customer });

await system.shutdown(); // drains every mailbox first
