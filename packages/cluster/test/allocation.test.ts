// The shard allocation rules, as pure functions: even after orphans are placed, bounded moves,
// and rounds that converge. Property-based over any table and any set of hosts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plan } from '../src/sharding/allocation.js';

const hostNames = fc.uniqueArray(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f'), {
  minLength: 1,
  maxLength: 6,
});

/** Every host applies its own plan against the same view (as the nodes do), then the view updates. */
function round(
  owners: (string | null)[],
  hosts: string[],
  maxMoves: number,
): { owners: (string | null)[]; moved: number } {
  const next = [...owners];
  let moved = 0;
  for (const self of hosts) {
    const p = plan(owners, hosts, self, maxMoves);
    for (const s of p.claim) {
      expect(owners[s] === null || !hosts.includes(owners[s] as string)).toBe(true); // only orphans are claimed
      next[s] = self;
    }
    for (const { shard, to } of p.handOff) {
      expect(owners[shard]).toBe(self); // a host hands off only its own shards
      next[shard] = to;
      moved++;
    }
    expect(p.handOff.length).toBeLessThanOrEqual(maxMoves);
  }
  return { owners: next, moved };
}

const spread = (owners: (string | null)[], hosts: string[]) => {
  const counts = hosts.map((h) => owners.filter((o) => o === h).length);
  return Math.max(...counts) - Math.min(...counts);
};

describe('shard allocation', () => {
  it('orphans are all claimed, each by exactly one host, and leave the hosts even (within one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), hostNames, (shards, hosts) => {
        const owners: (string | null)[] = Array.from({ length: shards }, () => null);
        const claimed = new Map<number, string>();
        for (const self of hosts) {
          for (const s of plan(owners, hosts, self, 4).claim) {
            expect(claimed.has(s)).toBe(false);
            claimed.set(s, self);
          }
        }
        expect(claimed.size).toBe(shards);
        const after = owners.map((_, s) => claimed.get(s) ?? null);
        expect(spread(after, hosts)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('moves at most maxMoves per round and converges to even; a balanced table does not move', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        hostNames,
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (shards, hosts, maxMoves, picks) => {
          // Any starting table: owners among the hosts, a departed host, or none.
          const pool = [...hosts, 'gone', null];
          let owners = Array.from({ length: shards }, (_, s) => pool[(picks[s] ?? s) % pool.length] ?? null);
          let rounds = 0;
          for (;;) {
            const { owners: next, moved } = round(owners, hosts, maxMoves);
            expect(moved).toBeLessThanOrEqual(maxMoves * hosts.length);
            owners = next;
            if (moved === 0 && owners.every((o) => o !== null && hosts.includes(o))) break;
            expect(++rounds).toBeLessThan(shards + 5);
          }
          expect(spread(owners, hosts)).toBeLessThanOrEqual(1);
          expect(round(owners, hosts, maxMoves).moved).toBe(0); // stable once even
        },
      ),
    );
  });

  it('a joining host takes its share from the others, a bounded number per round', () => {
    const owners: (string | null)[] = Array.from({ length: 256 }, (_, s) => (s % 2 === 0 ? 'a' : 'b'));
    const first = round(owners, ['a', 'b', 'c'], 8);
    expect(first.moved).toBeLessThanOrEqual(16);
    expect(first.owners.filter((o) => o === 'c').length).toBeGreaterThan(0);
    let current = first.owners;
    for (let i = 0; i < 20; i++) current = round(current, ['a', 'b', 'c'], 8).owners;
    expect(current.filter((o) => o === 'c').length).toBeGreaterThanOrEqual(85);
  });
});
