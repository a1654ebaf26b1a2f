/**
 * A consistent-hash ring over members named by string (routee addresses), for the group
 * router's `consistentHash` routing. Each member sits at `vnodes` points, `hash32("member#v")`;
 * a key belongs to the member of the first point at or after its hash, wrapping around. The
 * ring depends only on the set of members (not their order, nor the node computing it), so
 * every node routes a key to the same member, and a member joining or leaving moves only the
 * keys it takes or gave: about 1/N of them.
 *
 * @internal
 */
export class MemberRing {
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(
    readonly members: readonly string[],
    vnodes = 160,
  ) {
    const placed: [point: number, member: number][] = [];
    for (let m = 0; m < members.length; m++) {
      for (let v = 0; v < vnodes; v++) placed.push([hash32(`${members[m]}#${v}`), m]);
    }
    // Ties (vanishingly rare) go to the lower member name, so the ring does not depend on order.
    placed.sort((a, b) => a[0] - b[0] || ((members[a[1]] as string) < (members[b[1]] as string) ? -1 : 1));
    this.points = Uint32Array.from(placed, (p) => p[0]);
    this.owners = Uint32Array.from(placed, (p) => p[1]);
  }

  /** The index (into `members`) of the member that owns `key`; -1 for an empty ring. */
  ownerOf(key: string): number {
    const n = this.points.length;
    if (n === 0) return -1;
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo] as number;
  }
}

/** FNV-1a (32-bit) over UTF-16 code units, then murmur3's fmix32 so similar strings spread. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
