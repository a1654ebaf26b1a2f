import { type Lagged, type OnFull, Topic, topic } from '@troupe/actors';
import { type ActorRef, ActorSystem, type DeadLetter, type Message, receive } from '@troupe/runtime';
import { settle, shutdownAdvancing, VirtualClock } from '@troupe/runtime/testing';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type BusEvent =
  | { type: 'NewBlock'; number: number }
  | { type: 'PriceUpdate'; pair: string; price: number }
  | { type: 'OpportunityFound'; profit: number };

let system: ActorSystem;
let deadLetters: DeadLetter[];

beforeEach(() => {
  system = ActorSystem.start({ name: 'topics' });
  deadLetters = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
  });
});
afterEach(async () => {
  await system.shutdown({ timeoutMs: 100 });
});

/** A subscriber that records what it gets; while `paused`, its handler waits (its mailbox fills). */
class Recorder {
  readonly got: (BusEvent | Lagged)[] = [];
  readonly ref: ActorRef<BusEvent | Lagged>;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(name: string, capacity = 1024) {
    this.ref = system.spawn(
      receive<null, BusEvent | Lagged>(null, async (s, m) => {
        while (this.gate !== null) await this.gate;
        this.got.push(m);
        return s;
      }),
      { name, mailbox: { capacity } },
    );
  }

  pause(): void {
    this.gate ??= new Promise<void>((resolve) => {
      this.open = resolve;
    });
  }

  resume(): void {
    const open = this.open;
    this.gate = null;
    this.open = null;
    open?.();
  }

  events(): BusEvent[] {
    return this.got.filter((m): m is BusEvent => m.type !== 'Lagged');
  }

  lagged(): number {
    return this.got.filter((m): m is Lagged => m.type === 'Lagged').reduce((n, m) => n + m.missed, 0);
  }
}

const block = (n: number): BusEvent => ({ type: 'NewBlock', number: n });

describe('Topic', () => {
  it('delivers every event to every subscriber in publish order, as the same frozen object', async () => {
    const bus = system.spawn(topic<BusEvent>(), { name: 'bus' });
    const a = new Recorder('a');
    const b = new Recorder('b');
    await Topic.subscribe(bus, a.ref);
    await Topic.subscribe(bus, b.ref);
    const events = [block(1), { type: 'PriceUpdate', pair: 'ETH/USDC', price: 2000 } as const, block(2)];
    for (const e of events) Topic.publish(bus, e);
    await settle(system);
    expect(a.got).toEqual(events);
    expect(b.got).toEqual(events);
    for (let i = 0; i < events.length; i++) {
      expect(a.got[i]).toBe(b.got[i]);
      expect(Object.isFrozen(a.got[i])).toBe(true);
    }
  });

  it('filters by a list of event types or by a predicate', async () => {
    const bus = system.spawn(topic<BusEvent>());
    const blocks = new Recorder('blocks');
    const rich = new Recorder('rich');
    await Topic.subscribe(bus, blocks.ref, { filter: ['NewBlock'] });
    await Topic.subscribe(bus, rich.ref, { filter: (e) => e.type === 'OpportunityFound' && e.profit > 10 });
    Topic.publish(bus, block(1));
    Topic.publish(bus, { type: 'OpportunityFound', profit: 5 });
    Topic.publish(bus, { type: 'OpportunityFound', profit: 50 });
    await settle(system);
    expect(blocks.got).toEqual([block(1)]);
    expect(rich.got).toEqual([{ type: 'OpportunityFound', profit: 50 }]);
  });

  it('a subscriber sees only events published after its subscription was applied', async () => {
    const bus = system.spawn(topic<BusEvent>());
    Topic.publish(bus, block(1));
    const late = new Recorder('late');
    await Topic.subscribe(bus, late.ref);
    Topic.publish(bus, block(2));
    await settle(system);
    expect(late.got).toEqual([block(2)]);
  });

  it('unsubscribes on request, and automatically when a subscriber stops', async () => {
    const bus = system.spawn(topic<BusEvent>());
    const a = new Recorder('a');
    const b = new Recorder('b');
    await Topic.subscribe(bus, a.ref);
    await Topic.subscribe(bus, b.ref);
    await Topic.unsubscribe(bus, a.ref);
    system.stop(b.ref);
    await settle(system);
    expect((await Topic.stats(bus)).subscriptions).toEqual([]);
    Topic.publish(bus, block(1));
    await settle(system);
    expect(a.got).toEqual([]);
    expect(deadLetters).toEqual([]);
  });

  it("onFull 'lag': a stalled subscriber never slows the others; it is told how much it missed", async () => {
    const bus = system.spawn(topic<BusEvent>());
    const fast = Array.from({ length: 3 }, (_, i) => new Recorder(`fast${i}`));
    const slow = new Recorder('slow', 2);
    for (const r of [...fast, slow]) await Topic.subscribe(bus, r.ref);
    slow.pause();
    for (let n = 0; n < 10; n++) Topic.publish(bus, block(n));
    await settle(system);
    for (const r of fast)
      expect(r.events().map((e) => (e as { number: number }).number)).toEqual([...Array(10).keys()]);
    // The topic fans out all ten in one turn, before the slow subscriber runs: two fit its
    // mailbox, eight are missed.
    const stats = await Topic.stats(bus);
    expect(stats.subscriptions.find((s) => s.subscriber === slow.ref.path)).toEqual({
      subscriber: '/user/slow',
      onFull: 'lag',
      matched: 10,
      delivered: 2,
      missed: 8,
      filterErrors: 0,
    });
    slow.resume();
    await settle(system);
    Topic.publish(bus, block(10));
    await settle(system);
    expect(slow.got).toEqual([block(0), block(1), { type: 'Lagged', missed: 8, topic: bus.path }, block(10)]);
  });

  it('the Lagged notice comes once the subscriber has room, even if nothing more is published', async () => {
    const clock = new VirtualClock();
    const local = ActorSystem.start({ name: 'lag-retry', clock });
    const got: (BusEvent | Lagged)[] = [];
    let open!: () => void;
    let gate: Promise<void> | null = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slow = local.spawn(
      receive<null, BusEvent | Lagged>(null, async (s, m) => {
        if (gate !== null) await gate;
        got.push(m);
        return s;
      }),
      { mailbox: { capacity: 1 } },
    );
    const bus = local.spawn(topic<BusEvent>());
    await Topic.subscribe(bus, slow);
    for (let n = 0; n < 5; n++) Topic.publish(bus, block(n));
    await settle(local);
    gate = null;
    open();
    await settle(local);
    // block 0 filled the one-slot mailbox before the subscriber ran; 1 to 4 were missed
    expect(got).toEqual([block(0)]);
    clock.advance(10); // the topic retries the owed notice on its clock
    await settle(local);
    expect(got).toEqual([block(0), { type: 'Lagged', missed: 4, topic: bus.path }]);
    await shutdownAdvancing(local, clock);
  });

  it('a malformed control message is an unhandled dead letter; the topic keeps its subscriptions', async () => {
    const bus = system.spawn(topic<BusEvent>(), { name: 'bus' });
    const a = new Recorder('a');
    await Topic.subscribe(bus, a.ref);
    const raw = bus as unknown as ActorRef<Message>;
    raw.tell({ type: '$topic.subscribe' } as Message);
    raw.tell({ type: '$topic.whatever' } as Message);
    await settle(system);
    expect(deadLetters.map((d) => [d.reason, d.recipient])).toEqual([
      ['unhandled', '/user/bus'],
      ['unhandled', '/user/bus'],
    ]);
    expect((await Topic.stats(bus)).subscriptions).toHaveLength(1);
    expect(system.inspect(bus)).toMatchObject({ status: 'running', restarts: 0, unhandled: 2 });
  });

  it("onFull 'drop': drops and counts, with no notice", async () => {
    const bus = system.spawn(topic<BusEvent>());
    const slow = new Recorder('slow', 1);
    await Topic.subscribe(bus, slow.ref, { onFull: 'drop' });
    slow.pause();
    for (let n = 0; n < 5; n++) Topic.publish(bus, block(n));
    await settle(system);
    slow.resume();
    Topic.publish(bus, block(5));
    await settle(system);
    expect(slow.got).toEqual([block(0), block(5)]);
    expect((await Topic.stats(bus)).subscriptions[0]).toMatchObject({ delivered: 2, missed: 4 });
  });

  it("onFull 'block': the topic waits for the subscriber, and backpressure reaches publishers", async () => {
    const bus = system.spawn(topic<BusEvent>(), { mailbox: { capacity: 2 } });
    const slow = new Recorder('slow', 1);
    await Topic.subscribe(bus, slow.ref, { onFull: 'block' });
    slow.pause();
    let accepted = 0;
    const publisher = (async () => {
      for (let n = 0; n < 20; n++) {
        await bus.send(block(n));
        accepted++;
      }
    })();
    await settle(system);
    expect(accepted).toBeLessThan(6); // slow handler 1 + its mailbox 1 + topic waiting 1 + topic mailbox 2
    slow.resume();
    await publisher;
    await settle(system);
    expect(slow.events().map((e) => (e as { number: number }).number)).toEqual([...Array(20).keys()]);
    expect((await Topic.stats(bus)).subscriptions[0]).toMatchObject({ delivered: 20, missed: 0 });
  });

  it('rejects a bad onFull or filter before sending anything', async () => {
    const bus = system.spawn(topic<BusEvent>());
    const a = new Recorder('a');
    await expect(Topic.subscribe(bus, a.ref, { onFull: 'wait' as OnFull })).rejects.toThrow(TypeError);
    await expect(Topic.subscribe(bus, a.ref, { filter: 'NewBlock' as never })).rejects.toThrow(TypeError);
  });

  it('shows its subscriptions in system.tree()', async () => {
    const bus = system.spawn(topic<BusEvent>(), { name: 'bus' });
    const a = new Recorder('a');
    await Topic.subscribe(bus, a.ref);
    Topic.publish(bus, block(1));
    await settle(system);
    const node = system.tree().children.find((c) => c.name === 'bus');
    expect(node?.details).toEqual({
      type: 'TopicStats',
      published: 1,
      subscriptions: [
        { subscriber: '/user/a', onFull: 'lag', matched: 1, delivered: 1, missed: 0, filterErrors: 0 },
      ],
    });
  });

  it('property: per subscription, delivered + missed == published, and what arrives is exactly what was delivered', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('drain' as const), who: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('stall' as const), who: fc.integer({ min: 0, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            capacity: fc.integer({ min: 1, max: 4 }),
            onFull: fc.constantFrom<OnFull>('lag', 'drop'),
          }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        fc.array(step, { maxLength: 25 }),
        async (subs, steps) => {
          const bus = system.spawn(topic<BusEvent>());
          const recorders = subs.map(
            (s) => new Recorder(`p${Math.random().toString(36).slice(2)}`, s.capacity),
          );
          for (let i = 0; i < subs.length; i++) {
            await Topic.subscribe(bus, (recorders[i] as Recorder).ref, {
              onFull: (subs[i] as { onFull: OnFull }).onFull,
            });
          }
          let published = 0;
          for (const s of steps) {
            if (s.kind === 'publish')
              for (let k = 0; k < s.count; k++) Topic.publish(bus, block(published++));
            else if (s.kind === 'stall') recorders[s.who % recorders.length]?.pause();
            else recorders[s.who % recorders.length]?.resume();
            await settle(system);
          }
          for (const r of recorders) r.resume();
          await settle(system);
          const stats = await Topic.stats(bus);
          stats.subscriptions.forEach((sub, i) => {
            const r = recorders[i] as Recorder;
            expect(sub.delivered + sub.missed).toBe(published);
            expect(r.events()).toHaveLength(sub.delivered);
            const numbers = r.events().map((e) => (e as { number: number }).number);
            expect(numbers).toEqual([...numbers].sort((x, y) => x - y)); // order preserved
            if (sub.onFull === 'drop') expect(r.lagged()).toBe(0);
            else expect(r.lagged()).toBeLessThanOrEqual(sub.missed);
          });
          system.stop(bus);
          for (const r of recorders) system.stop(r.ref);
          await settle(system);
        },
      ),
      { numRuns: 150 },
    );
  });
});

export type { Message };
