/**
 * Which shard an entity id belongs to: FNV-1a (32 bit) over the id's UTF-8 bytes, modulo the
 * number of shards. Stable across processes, versions and machines: every node computes the
 * same shard for the same id, so no lookup is needed.
 *
 * @internal
 */
const encoder = new TextEncoder();

export function shardOf(id: string, shards: number): number {
  let hash = 0x811c9dc5;
  const bytes = encoder.encode(id);
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
