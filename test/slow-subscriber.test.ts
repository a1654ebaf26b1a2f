/**
 * Slow subscriber: a topic with nine fast subscribers and one that stalls.
 *
 * The guarantees, exactly (Topic's `'lag'` policy, the default):
 * - the fast subscribers get every event, in publish order: `delivered == published`, `missed == 0`;
 * - the stalled one never slows them; for it `delivered + missed == published`
 *   (`Topic.stats`), it receives exactly `delivered` events, in order, and once it has room
 *   again its `Lagged` notices sum to exactly `missed`;
 * - nothing else goes anywhere: no dead letters.
 */
import { type Lagged, Topic, topic } from '@troupe/actors';
import { type ActorRef, ActorSystem, receive } from '@troupe/runtime';
import { settle } from '@troupe/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { size, timeLimit } from './support/soak.js';

type Tick = { readonly type: 'tick'; readonly n: number };

const BURST = size(5_000, 200_000);
const SLOW_CAPACITY = 16;

let system: ActorSystem;
let deadLetters: number;

beforeEach(() => {
  system = ActorSystem.start({ name: 'slow-subscriber' });
  deadLetters = 0;
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters++;
  });
});

afterEach(async () => {
  await system.shutdown();
});

/** Counts what it gets and checks the order as it goes; holds no per-event state. */
class Subscriber {
  readonly ref: ActorRef<Tick | Lagged>;
  events = 0;
  lagged = 0;
  notices = 0;
  last = -1;
  outOfOrder = 0;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(name: string, capacity: number) {
    const onMessage = (m: Tick | Lagged) => {
      if (m.type === 'Lagged') {
        this.notices++;
        this.lagged += m.missed;
        return;
      }
      if (m.n <= this.last) this.outOfOrder++;
      this.last = m.n;
      this.events++;
    };
    // Only the stalling subscriber needs an async handler.
    const behavior =
      name === 'slow'
        ? receive<null, Tick | Lagged>(null, async (s, m) => {
            while (this.gate !== null) await this.gate;
            onMessage(m);
            return s;
          })
        : receive<null, Tick | Lagged>(null, (s, m) => {
            onMessage(m);
            return s;
          });
    this.ref = system.spawn(behavior, { name, mailbox: { capacity } });
  }

  stall(): void {
    this.gate ??= new Promise<void>((resolve) => {
      this.open = resolve;
    });
  }

  recover(): void {
    const open = this.open;
    this.gate = null;
    this.open = null;
    open?.();
  }
}

describe('slow subscriber: one stalled subscriber among ten', () => {
  it(
    `the nine fast ones get all ${BURST.toLocaleString('en')} events of each burst; the slow one gets delivered + missed == published and Lagged notices summing to missed`,
    async () => {
      const bus = system.spawn(topic<Tick>(), { name: 'bus' });
      const fast = Array.from({ length: 9 }, (_, i) => new Subscriber(`fast${i}`, 1024));
      const slow = new Subscriber('slow', SLOW_CAPACITY);
      for (const s of [...fast, slow]) await Topic.subscribe(bus, s.ref);

      let published = 0;
      /** Publishes with backpressure on the topic's own mailbox (never a mailboxFull tell). */
      const burst = async (count: number) => {
        for (let i = 0; i < count; i++) await bus.send({ type: 'tick', n: published++ });
        await settle(system);
      };
      /** Publishes one at a time, letting everyone catch up after each. */
      const trickle = async (count: number) => {
        for (let i = 0; i < count; i++) {
          Topic.publish(bus, { type: 'tick', n: published++ });
          await settle(system);
        }
      };
      const slowStats = async () => {
        const stats = await Topic.stats(bus);
        expect(stats.published).toBe(published);
        for (const f of fast) {
          expect(stats.subscriptions.find((s) => s.subscriber === f.ref.path)).toMatchObject({
            delivered: published,
            missed: 0,
          });
        }
        const own = stats.subscriptions.find((s) => s.subscriber === slow.ref.path);
        if (own === undefined) throw new Error('the slow subscriber was unsubscribed');
        expect(own.delivered + own.missed).toBe(published);
        return own;
      };

      // Two rounds: stall, a burst it cannot keep up with, recover, then a trickle that lets
      // the topic tell it what it missed.
      for (let round = 0; round < 2; round++) {
        slow.stall();
        await burst(BURST);
        const stalled = await slowStats();
        expect(stalled.missed).toBeGreaterThanOrEqual((round + 1) * (BURST - SLOW_CAPACITY - 1));
        for (const f of fast) expect(f.events).toBe(published); // never slowed down by the slow one

        slow.recover();
        await settle(system);
        await trickle(3);
        const recovered = await slowStats();
        expect(slow.events).toBe(recovered.delivered);
        expect(slow.lagged).toBe(recovered.missed);
        expect(slow.notices).toBe(round + 1); // one notice per stall: it missed nothing in between
      }

      for (const s of [...fast, slow]) expect(s.outOfOrder).toBe(0);
      for (const f of fast) expect([f.events, f.notices]).toEqual([published, 0]);
      expect(deadLetters).toBe(0);
    },
    timeLimit(30_000, 600_000),
  );
});
