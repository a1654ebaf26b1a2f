// The consistent-hash ring under the group router: stable, order-independent, and moving only
// about 1/N of the keys when a member joins or leaves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemberRing } from '../src/member-ring.js';

const SEED = Number(process.env.FC_SEED ?? 20261203);
const keys = Array.from({ length: 4000 }, (_, i) => `order-${i}`);
const members = (n: number) =>
  Array.from({ length: n }, (_, i) => `troupe://shop@node-${i % 3}/user/worker-${i}#id${i}`);
const owners = (ring: MemberRing) => keys.map((k) => ring.members[ring.ownerOf(k)]);

describe('MemberRing', () => {
  it('gives every key an owner, the same whatever the order the members are listed in', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer(), (n, shuffleSeed) => {
        const list = members(n);
        const shuffled = [...list].sort(
          (a, b) =>
            ((a.length * 31 + shuffleSeed) % 7) - ((b.length * 31 + shuffleSeed) % 7) || (a < b ? 1 : -1),
        );
        expect(owners(new MemberRing(shuffled))).toEqual(owners(new MemberRing(list)));
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it('a member joining takes about 1/(N+1) of the keys, all from others; one leaving gives up only its own', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), (n) => {
        const before = owners(new MemberRing(members(n)));
        const grown = new MemberRing(members(n + 1));
        const after = owners(grown);
        const joined = members(n + 1)[n];
        let moved = 0;
        for (let i = 0; i < keys.length; i++) {
          if (before[i] !== after[i]) {
            moved++;
            expect(after[i]).toBe(joined); // a key moves only to the newcomer
          }
        }
        const share = moved / keys.length;
        expect(share).toBeGreaterThan(0.4 / (n + 1));
        expect(share).toBeLessThan(1.8 / (n + 1));
        // A member leaving (any one, not only the newest) gives up only its own keys.
        const all = members(n + 1);
        const leaver = all[Math.floor(n / 2)] as string;
        const left = owners(new MemberRing(all.filter((m) => m !== leaver)));
        for (let i = 0; i < keys.length; i++) if (after[i] !== leaver) expect(left[i]).toBe(after[i]);
      }),
      { seed: SEED, numRuns: 20 },
    );
  });

  it('spreads keys about evenly', () => {
    const ring = new MemberRing(members(5));
    const counts = new Map<string, number>();
    for (const owner of owners(ring)) counts.set(owner as string, (counts.get(owner as string) ?? 0) + 1);
    for (const count of counts.values()) expect(count / keys.length).toBeGreaterThan(0.1);
    expect(new MemberRing([]).ownerOf('x')).toBe(-1);
  });
});
