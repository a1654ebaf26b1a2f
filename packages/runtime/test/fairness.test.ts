import { ActorSystem, type Message, receive } from '@troupe/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let system: ActorSystem;
beforeEach(() => {
  system = ActorSystem.start({ name: 'fairness' });
});
afterEach(async () => {
  await system.shutdown();
});

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('fairness', () => {
  it('an actor that floods itself forever never starves other actors, timers or I/O', async () => {
    let spins = 0;
    const flooder = system.spawn(
      receive<null, Message>(null, (s, m, ctx) => {
        spins++;
        ctx.self.tell(m); // endless work: the mailbox is never empty
        return s;
      }),
    );
    const seen: string[] = [];
    const other = system.spawn(
      receive<null, { type: 'hello' }>(null, (s, m) => {
        seen.push(m.type);
        return s;
      }),
    );
    flooder.tell({ type: 'spin' });
    // If the dispatcher never yielded, none of these would ever resolve and the test would time out.
    await turn();
    const afterFirstTurn = spins;
    other.tell({ type: 'hello' });
    await turn();
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual(['hello']);
    expect(afterFirstTurn).toBeGreaterThan(0);
    expect(spins).toBeGreaterThan(afterFirstTurn); // still spinning: it was interleaved, not stopped
    system.stop(flooder);
  });

  it('an actor handles at most its throughput per turn before others get a go', async () => {
    const order: string[] = [];
    const a = system.spawn(
      receive<null, Message>(null, (s) => {
        order.push('a');
        return s;
      }),
      { throughput: 3 },
    );
    const b = system.spawn(
      receive<null, Message>(null, (s) => {
        order.push('b');
        return s;
      }),
      { throughput: 3 },
    );
    for (let i = 0; i < 7; i++) a.tell({ type: 'x' });
    for (let i = 0; i < 2; i++) b.tell({ type: 'x' });
    await turn();
    expect(order.join('')).toBe('aaabbaaaa');
  });
});
