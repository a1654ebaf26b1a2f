/**
 * S5: spawn 100,000 idle actors and keep them. One run measures the spawn rate and the heap each
 * actor retains (`heapUsed` after GC, minus the same before spawning, over the count; the refs
 * are kept alive in an array allocated beforehand). Then every actor is sent one message and
 * must handle it: the run fails unless all 100,000 did.
 */
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { Effect, Queue } from 'effect';
import { dispatch, type Ref, spawn, start, stop } from 'nact';
import { type Actor, createActor, setup } from 'xstate';
import { CAPACITY, settledHeap, until } from '../actors.js';
import type { Measurement, Scenario } from '../scenario.js';

const POKE = { type: 'poke' } as const;
type Poke = typeof POKE;

/** What a run measured. */
interface Spawned {
  readonly seconds: number;
  readonly retainedBytes: number;
  /** Actors that handled their one message. */
  readonly handled: number;
}

/** `system.spawn(receive(…))` of one shared behaviour, default mailbox; refs kept in an array. */
async function troupeSpawn(n: number): Promise<Spawned> {
  const system = ActorSystem.start({ name: 'bench-s5' });
  try {
    let handled = 0;
    const idle = receive<number, Poke>(0, (pokes) => {
      handled++;
      return pokes + 1;
    });
    const refs = new Array<ActorRef<Poke> | null>(n).fill(null);
    const before = settledHeap();
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) refs[i] = system.spawn(idle);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const retainedBytes = settledHeap() - before;

    for (const ref of refs) ref?.tell(POKE);
    await until(() => handled === n, `${n} troupe actors to handle a message`);
    return { seconds, retainedBytes, handled };
  } finally {
    await system.shutdown();
  }
}

/**
 * The fiber actor of S2, idle: per actor a `Queue.bounded(1024)` and a fiber forked with
 * `Effect.forkChild`, looping `Queue.take`. The rate counts until every fiber has started and
 * is suspended on its queue.
 */
function effectSpawn(n: number): Promise<Spawned> {
  const program = Effect.gen(function* () {
    let started = 0;
    let handled = 0;
    const actor = (mailbox: Queue.Queue<Poke>) =>
      Effect.andThen(
        Effect.sync(() => {
          started++;
        }),
        Effect.whileLoop({
          while: () => true,
          body: () => Queue.take(mailbox),
          step: () => {
            handled++;
          },
        }),
      );
    const refs = new Array<Queue.Queue<Poke> | null>(n).fill(null);
    const before = settledHeap();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const mailbox = yield* Queue.bounded<Poke>(CAPACITY);
      yield* Effect.forkChild(actor(mailbox));
      refs[i] = mailbox;
    }
    while (started < n) yield* Effect.yieldNow;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const retainedBytes = settledHeap() - before;

    for (const mailbox of refs) if (mailbox !== null) yield* Queue.offer(mailbox, POKE);
    yield* Effect.promise(() => until(() => handled === n, `${n} effect fibers to handle a message`));
    return { seconds, retainedBytes, handled };
  });
  // Ending the program interrupts the forked fibers.
  return Effect.runPromise(program);
}

/** `createActor(trivialMachine).start()`: each a root XState actor (with its own actor system). */
async function xstateSpawn(n: number): Promise<Spawned> {
  let handled = 0;
  const trivial = setup({ types: { events: {} as Poke } }).createMachine({
    on: {
      poke: {
        actions: () => {
          handled++;
        },
      },
    },
  });
  const refs = new Array<Actor<typeof trivial> | null>(n).fill(null);
  const before = settledHeap();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) refs[i] = createActor(trivial).start();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const retainedBytes = settledHeap() - before;

  for (const actor of refs) actor?.send(POKE);
  await until(() => handled === n, `${n} xstate actors to handle an event`);
  for (const actor of refs) actor?.stop();
  return { seconds, retainedBytes, handled };
}

/** `spawn(system, f, name)`: nact needs distinct names (its generated ones collide at this count). */
async function nactSpawn(n: number): Promise<Spawned> {
  const system = start();
  try {
    let handled = 0;
    const idle = (pokes: number, _msg: Poke) => {
      handled++;
      return pokes + 1;
    };
    const refs = new Array<Ref<Poke> | null>(n).fill(null);
    const before = settledHeap();
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) refs[i] = spawn(system, idle, `a${i}`, { initialState: 0 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const retainedBytes = settledHeap() - before;

    for (const ref of refs) if (ref !== null) dispatch(ref, POKE);
    await until(() => handled === n, `${n} nact actors to handle a message`);
    return { seconds, retainedBytes, handled };
  } finally {
    stop(system);
  }
}

function spawnRateAndBytes(run: (n: number) => Promise<Spawned>) {
  return async (n: number): Promise<Measurement[]> => {
    const { seconds, retainedBytes, handled } = await run(n);
    if (handled !== n) throw new Error(`${handled} of ${n} actors handled their message`);
    return [
      { metric: 'spawn rate', unit: 'spawns/s', value: n / seconds },
      { metric: 'retained heap', unit: 'B/actor', value: retainedBytes / n },
    ];
  };
}

export const s5Spawn: Scenario = {
  id: 'S5',
  title: 'spawn: 100,000 idle actors, kept alive — spawn rate and retained heap per actor',
  size: 100_000,
  warmupSize: 20_000,
  better: { 'spawn rate': 'higher', 'retained heap': 'lower' },
  notes: [
    'One run gives both figures. Spawn rate = actors / seconds of the spawn loop. Retained heap = (`heapUsed` after ' +
      '`gc()` ×2 once all are spawned − the same just before) / actors; the array holding the refs is allocated ' +
      'before the first reading, so only the actors are billed. Afterwards every actor gets one message and all ' +
      'must handle it.',
    'troupe: `system.spawn(receive(0, handler))` of one shared behaviour; default mailbox (1024, `block`), generated names.',
    'effect: per actor `Queue.bounded(1024)` + `Effect.forkChild` of a fiber looping `Queue.take`; timed until every ' +
      'fiber has started (suspended on its queue). The ref kept is the queue.',
    'xstate: `createActor(trivialMachine).start()` per actor; each is a root actor with its own XState system.',
    'nact: `spawn(system, f, name, { initialState: 0 })` with names `a0…`: its generated names ' +
      '(`anonymous-<random 32-bit>`) collide at 100,000 actors and throw.',
  ],
  systems: {
    troupe: spawnRateAndBytes(troupeSpawn),
    effect: spawnRateAndBytes(effectSpawn),
    xstate: spawnRateAndBytes(xstateSpawn),
    nact: spawnRateAndBytes(nactSpawn),
  },
};
