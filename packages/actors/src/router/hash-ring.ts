/**
 * A consistent-hash ring: pure, used by the router's `consistentHash` routing. Not exported from
 * the package.
 */

/**
 * FNV-1a (32-bit) over the string's UTF-16 code units, then murmur3's `fmix32` finalizer so
 * that similar short strings (`"3#17"`, `"3#18"`) spread evenly over the ring.
 */
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

/**
 * `nodes` nodes (0 … nodes−1), each placed on the ring at `vnodes` points (`hash32("node#v")`).
 * A key belongs to the node of the first point at or after its hash, wrapping around. So the
 * same key always maps to the same node, keys spread about evenly, and growing the ring by one
 * node moves only the keys that the new node takes over.
 */
export class HashRing {
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(nodes: number, vnodes = 100) {
    const placed: [point: number, node: number][] = [];
    for (let node = 0; node < nodes; node++) {
      for (let v = 0; v < vnodes; v++) placed.push([hash32(`${node}#${v}`), node]);
    }
    // Ties (vanishingly rare) go to the lower node, so the ring does not depend on sort stability.
    placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(placed, (p) => p[0]);
    this.owners = Uint32Array.from(placed, (p) => p[1]);
  }

  /** The node that owns `key`. */
  nodeFor(key: string): number {
    const h = hash32(key);
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === points.length ? 0 : lo] as number;
  }
}
