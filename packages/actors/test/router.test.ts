import { type RouterOptions, type Routing, router } from '@troupe/actors';
import { type ActorRef, ActorSystem, type Behavior, receive, type SystemEvent } from '@troupe/runtime';
import { settle, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HashRing, hash32 } from '../src/router/hash-ring.js';

type WhoAmI = { type: 'me'; worker: string };
type JobMsg =
  | { type: 'job'; n: number; key?: string; crash?: boolean }
  | { type: 'whoami'; replyTo: ActorRef<WhoAmI> };

let system: ActorSystem;
let events: SystemEvent[];
/** `worker-i:n` for every job handled, in order. */
let handled: string[];

beforeEach(() => {
  system = ActorSystem.start({ name: 'routers', clock: new VirtualClock() });
  events = [];
  handled = [];
  system.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const worker = (): Behavior<JobMsg> =>
  receive<null, JobMsg>(null, (s, m, ctx) => {
    if (m.type === 'whoami') ctx.reply(m.replyTo, { type: 'me', worker: ctx.self.name });
    else if (m.crash === true) throw new Error(`job ${m.n} crashed`);
    else handled.push(`${ctx.self.name}:${m.n}`);
    return s;
  });

function spawnRouter(routing: Routing<JobMsg>, size = 3, extra: Partial<RouterOptions<JobMsg>> = {}) {
  return system.spawn(router<JobMsg>({ size, worker, routing, ...extra }), { name: 'router' });
}

const perWorker = () => {
  const counts = new Map<string, number>();
  for (const h of handled) {
    const w = h.split(':')[0] as string;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort());
};

describe('router', () => {
  it('roundRobin sends each message to the next worker in turn, evenly', async () => {
    const ref = spawnRouter('roundRobin', 3);
    for (let n = 0; n < 9; n++) ref.tell({ type: 'job', n });
    await settle(system);
    expect(perWorker()).toEqual({ 'worker-1': 3, 'worker-2': 3, 'worker-3': 3 });
    expect(handled.filter((h) => h.startsWith('worker-2:'))).toEqual([
      'worker-2:1',
      'worker-2:4',
      'worker-2:7',
    ]);
  });

  it('asks go through it and the worker replies directly', async () => {
    const ref = spawnRouter('roundRobin', 2);
    const who = async () => (await ref.ask<WhoAmI>((replyTo) => ({ type: 'whoami', replyTo }))).worker;
    expect([await who(), await who(), await who()]).toEqual(['worker-1', 'worker-2', 'worker-1']);
  });

  it('broadcast delivers every message to every worker', async () => {
    const ref = spawnRouter('broadcast', 4);
    ref.tell({ type: 'job', n: 1 });
    ref.tell({ type: 'job', n: 2 });
    await settle(system);
    expect([...handled].sort()).toEqual(
      [1, 2, 3, 4].flatMap((w) => [`worker-${w}:1`, `worker-${w}:2`]).sort(),
    );
  });

  it('consistentHash sends the same key to the same worker, and spreads keys across workers', async () => {
    const ref = spawnRouter({ consistentHash: (m) => (m.type === 'job' ? (m.key ?? '') : '') }, 4);
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 400; k++) ref.tell({ type: 'job', n: k, key: `user-${k}` });
    }
    await settle(system);
    const owner = new Map<number, Set<string>>();
    for (const h of handled) {
      const [w, n] = h.split(':') as [string, string];
      const set = owner.get(Number(n)) ?? new Set();
      set.add(w);
      owner.set(Number(n), set);
    }
    expect([...owner.values()].every((workers) => workers.size === 1)).toBe(true);
    const keysPerWorker = Object.values(perWorker()).map((c) => c / 3);
    expect(keysPerWorker).toHaveLength(4);
    for (const keys of keysPerWorker) expect(keys).toBeGreaterThan(50); // of 400: none starved
  });

  it('a crashed worker is restarted in place; no routed message but the failing one is lost', async () => {
    const ref = spawnRouter('roundRobin', 3);
    await settle(system);
    const w2 = system.lookup('/user/router/pool/worker-2');
    for (let n = 0; n < 30; n++) ref.tell({ type: 'job', n, crash: n === 4 });
    await settle(system);
    expect(handled).toHaveLength(29);
    expect(handled.map((h) => Number(h.split(':')[1])).sort((a, b) => a - b)).toEqual(
      [...Array(30).keys()].filter((n) => n !== 4),
    );
    expect(system.lookup('/user/router/pool/worker-2')).toBe(w2);
    expect(w2 === undefined ? undefined : system.inspect(w2)?.restarts).toBe(1);
    expect(events.filter((e) => e.type === 'DeadLetter')).toEqual([
      expect.objectContaining({ reason: 'failed', message: { type: 'job', n: 4, crash: true } }),
    ]);
    ref.tell({ type: 'job', n: 30 });
    ref.tell({ type: 'job', n: 31 });
    ref.tell({ type: 'job', n: 32 });
    await settle(system);
    expect(perWorker()).toEqual({ 'worker-1': 11, 'worker-2': 10, 'worker-3': 11 });
  });

  it('fails when its pool exceeds the restart intensity', async () => {
    const ref = spawnRouter('roundRobin', 2, { intensity: { maxRestarts: 0, withinMs: 1000 } });
    ref.tell({ type: 'job', n: 0, crash: true });
    await settle(system);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'SupervisorEscalated', path: '/user/router/pool' }),
    );
    const failed = events.find((e) => e.type === 'ActorFailed' && e.path === '/user/router') as
      | { error: Error }
      | undefined;
    expect(failed?.error.message).toBe('router /user/router: its worker pool failed');
    expect(system.inspect(ref)?.status).toBe('stopped');
  });

  it('is inspectable: the pool and its workers appear in the tree', async () => {
    spawnRouter({ consistentHash: () => 'k' }, 2);
    await settle(system);
    const node = system.tree().children.find((c) => c.name === 'router');
    expect(node?.details).toEqual({ routing: 'consistentHash', size: 2, routed: 0, keyErrors: 0 });
    expect(node?.children.map((c) => [c.name, c.kind, c.children.map((w) => w.name)])).toEqual([
      ['pool', 'supervisor', ['worker-1', 'worker-2']],
    ]);
  });

  it.each([
    [{ size: 0 }, RangeError, /router: size/],
    [{ worker: 'w' }, TypeError, /router: worker must be a function/],
    [{ routing: 'random' }, TypeError, /router: routing must be/],
    [{ routing: { consistentHash: 'id' } }, TypeError, /router: routing must be/],
    [{ intensity: { maxRestarts: -1, withinMs: 10 } }, RangeError, /intensity.maxRestarts/],
    [{ mailbox: { capacity: 0 } }, RangeError, /mailbox.capacity/],
  ])('rejects bad options %o with a %o naming the field', (bad, Err, message) => {
    const options = { size: 2, worker, routing: 'roundRobin', ...bad } as unknown as RouterOptions<JobMsg>;
    expect(() => router(options)).toThrow(Err);
    expect(() => router(options)).toThrow(message);
  });
});

describe('hash ring', () => {
  it('hash32 is FNV-1a with a finalizer: deterministic 32-bit unsigned values', () => {
    expect(hash32('sensor-1')).toBe(hash32('sensor-1'));
    expect(hash32('a')).not.toBe(hash32('b'));
    for (const s of ['', 'a', 'user-42', 'ünïcode']) {
      expect(Number.isInteger(hash32(s)) && hash32(s) >= 0 && hash32(s) < 2 ** 32).toBe(true);
    }
  });

  it('spreads 10,000 keys over 5 nodes within ±25% of even', () => {
    const ring = new HashRing(5);
    const counts = [0, 0, 0, 0, 0];
    for (let k = 0; k < 10_000; k++) counts[ring.nodeFor(`key-${k}`)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(500);
  });

  it('growing the ring by one node moves only keys that the new node takes', () => {
    const four = new HashRing(4);
    const five = new HashRing(5);
    let moved = 0;
    for (let k = 0; k < 5000; k++) {
      const before = four.nodeFor(`key-${k}`);
      const after = five.nodeFor(`key-${k}`);
      if (before !== after) {
        expect(after).toBe(4);
        moved++;
      }
    }
    expect(moved / 5000).toBeGreaterThan(0.1);
    expect(moved / 5000).toBeLessThan(0.3);
  });
});
