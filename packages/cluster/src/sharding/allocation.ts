/**
 * Who should own which shard: pure functions every hosting node computes alike from the same
 * view of the shard table (so they agree without talking), and the compare-and-set on the
 * key-value store settles it when views differ for a moment.
 *
 * - **Orphans first.** A shard with no valid owner goes to the least loaded host (ties: by
 *   name), one shard at a time in index order, so a joining or surviving set of hosts ends even.
 * - **Bounded rebalancing.** Then, while the most loaded host owns at least two more than the
 *   least loaded, it hands one shard (its highest) to the least loaded — at most `maxMoves` per
 *   round (Akka #29543: slow, over-eager rebalancing).
 *
 * @internal
 */
export interface Plan {
  /** Orphan shards this host should claim now. */
  readonly claim: readonly number[];
  /** Shards this host should hand off now, and to whom. */
  readonly handOff: readonly { readonly shard: number; readonly to: string }[];
}

/**
 * `owners[s]` is shard s's valid owner, or null (no record, released, or its owner's lease
 * expired). `hosts` are the nodes hosting the type with a valid lease (`self` among them).
 */
export function plan(
  owners: readonly (string | null)[],
  hosts: readonly string[],
  self: string,
  maxMoves: number,
): Plan {
  if (!hosts.includes(self)) return { claim: [], handOff: [] };
  const sorted = [...hosts].sort();
  const load = new Map<string, number[]>(sorted.map((h) => [h, []]));
  const orphans: number[] = [];
  owners.forEach((owner, shard) => {
    const mine = owner === null ? undefined : load.get(owner);
    if (mine === undefined) orphans.push(shard);
    else mine.push(shard);
  });
  const claim: number[] = [];
  for (const shard of orphans) {
    const host = leastLoaded(sorted, load);
    (load.get(host) as number[]).push(shard);
    if (host === self) claim.push(shard);
  }
  const handOff: { shard: number; to: string }[] = [];
  for (let moves = 0; moves < maxMoves; moves++) {
    const under = leastLoaded(sorted, load);
    const over = mostLoaded(sorted, load);
    const from = load.get(over) as number[];
    const to = load.get(under) as number[];
    if (from.length - to.length < 2) break;
    from.sort((a, b) => a - b);
    const shard = from.pop() as number;
    to.push(shard);
    if (over === self) handOff.push({ shard, to: under });
  }
  return { claim, handOff };
}

function leastLoaded(hosts: readonly string[], load: Map<string, number[]>): string {
  let best = hosts[0] as string;
  for (const h of hosts) if ((load.get(h) as number[]).length < (load.get(best) as number[]).length) best = h;
  return best;
}

function mostLoaded(hosts: readonly string[], load: Map<string, number[]>): string {
  let best = hosts[0] as string;
  for (const h of hosts) if ((load.get(h) as number[]).length > (load.get(best) as number[]).length) best = h;
  return best;
}
