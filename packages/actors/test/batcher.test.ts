import { type Batch, type BatcherOptions, batcher } from '@troupe/actors';
import { ActorSystem, type DeadLetter, supervisor } from '@troupe/runtime';
import { settle, TestProbe, VirtualClock } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let system: ActorSystem;
let clock: VirtualClock;
let deadLetters: DeadLetter[];
let out: TestProbe<Batch<number>>;

beforeEach(() => {
  clock = new VirtualClock();
  system = ActorSystem.start({ name: 'batchers', clock });
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
  out = new TestProbe<Batch<number>>(system, 'out');
});

afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

const spawnBatcher = (maxSize = 3, maxAgeMs = 100) =>
  system.spawn(batcher<number>({ maxSize, maxAgeMs, target: out.ref }), { name: 'batcher' });

const batches = () => out.messages.map((m) => (m.type === 'Batch' ? [...m.items] : m.type));

describe('batcher', () => {
  it('emits a batch as soon as it holds maxSize items', async () => {
    const ref = spawnBatcher(3);
    for (let i = 1; i <= 7; i++) ref.tell({ type: 'Add', item: i });
    await settle(system);
    expect(batches()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('emits a partial batch once its oldest item is maxAgeMs old', async () => {
    const ref = spawnBatcher(10, 100);
    ref.tell({ type: 'Add', item: 1 });
    await settle(system);
    clock.advance(60);
    ref.tell({ type: 'Add', item: 2 }); // younger items do not extend the deadline
    await settle(system);
    clock.advance(39);
    await out.expectNoMessage();
    clock.advance(1);
    expect(await out.expectMessage()).toEqual({ type: 'Batch', items: [1, 2] });
  });

  it('a size-triggered batch cancels its age timer; the next item starts a new one', async () => {
    const ref = spawnBatcher(2, 100);
    ref.tell({ type: 'Add', item: 1 });
    await settle(system);
    clock.advance(50);
    ref.tell({ type: 'Add', item: 2 });
    await settle(system);
    clock.advance(50);
    ref.tell({ type: 'Add', item: 3 });
    await settle(system);
    clock.advance(99);
    await settle(system);
    expect(batches()).toEqual([[1, 2]]);
    clock.advance(1);
    await settle(system);
    expect(batches()).toEqual([[1, 2], [3]]);
  });

  it('Flush emits the partial batch now; a Flush with nothing collected emits nothing', async () => {
    const ref = spawnBatcher(10, 100);
    ref.tell({ type: 'Flush' });
    ref.tell({ type: 'Add', item: 1 });
    ref.tell({ type: 'Flush' });
    ref.tell({ type: 'Flush' });
    await settle(system);
    clock.advance(100); // the flushed batch's age timer was cancelled
    await settle(system);
    expect(batches()).toEqual([[1]]);
  });

  it('never emits an empty batch when time passes with no items', async () => {
    spawnBatcher(3, 100);
    clock.advance(1000);
    await out.expectNoMessage();
  });

  it('flushes the partial batch when it stops', async () => {
    const ref = spawnBatcher(10, 100);
    ref.tell({ type: 'Add', item: 1 });
    ref.tell({ type: 'Add', item: 2 });
    await settle(system);
    system.stop(ref);
    expect(await out.expectMessage()).toEqual({ type: 'Batch', items: [1, 2] });
  });

  it('flushes the partial batch on a restart and keeps batching after it', async () => {
    system.spawn(
      supervisor({
        strategy: 'oneForOne',
        intensity: { maxRestarts: 1, withinMs: 1000 },
        children: [
          { id: 'b', start: () => batcher<number>({ maxSize: 2, maxAgeMs: 100, target: out.ref }) as never },
        ],
      }),
      { name: 'sup' },
    );
    const ref = system.lookup('/user/sup/b');
    if (ref === undefined) throw new Error('no batcher');
    const b = ref as unknown as ReturnType<typeof spawnBatcher>;
    b.tell({ type: 'Add', item: 1 });
    await settle(system);
    system.stop(b); // an exit its supervisor answers: restart in place
    await settle(system);
    b.tell({ type: 'Add', item: 2 });
    b.tell({ type: 'Add', item: 3 });
    await settle(system);
    expect(batches()).toEqual([[1], [2, 3]]);
    expect(system.inspect(b)?.restarts).toBe(1);
  });

  it('stopping with nothing collected emits nothing', async () => {
    const ref = spawnBatcher();
    await settle(system);
    system.stop(ref);
    await out.expectNoMessage();
  });

  it('a batch for a stopped target becomes a dead letter', async () => {
    const ref = spawnBatcher(1);
    system.stop(out.ref);
    await settle(system);
    ref.tell({ type: 'Add', item: 1 });
    await settle(system);
    expect(deadLetters).toContainEqual(
      expect.objectContaining({ reason: 'stopped', message: { type: 'Batch', items: [1] } }),
    );
  });

  it.each([
    [{ maxSize: 0 }, RangeError, /maxSize/],
    [{ maxSize: 2.5 }, RangeError, /maxSize/],
    [{ maxAgeMs: 0 }, RangeError, /maxAgeMs/],
    [{ maxAgeMs: Number.POSITIVE_INFINITY }, RangeError, /maxAgeMs/],
    [{ target: undefined }, TypeError, /target must be an actor ref/],
  ])('rejects bad options %o with a %o naming the field', (bad, Err, message) => {
    const options = { maxSize: 1, maxAgeMs: 1, target: out.ref, ...bad } as unknown as BatcherOptions<number>;
    expect(() => batcher(options)).toThrow(Err);
    expect(() => batcher(options)).toThrow(message);
  });
});
