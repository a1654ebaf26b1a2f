/**
 * Membership over NATS heartbeats (no JetStream needed): every node publishes a heartbeat on
 * `troupe.<cluster>.hb` every `heartbeatMs`; a peer silent for `downAfterMs` is declared down.
 * A joining node announces itself (`join`) and every node that hears it answers with a
 * heartbeat at once, so a new node sees the cluster within one round trip. A node that leaves
 * says so (`leave`). A peer that comes back under the same name with a new incarnation is the
 * old one down, then the new one up.
 *
 * Heartbeat body (JSON): { v: 1, k: 'hb' | 'join' | 'leave', n: node, i: incarnation,
 *                          q: { [peer]: [peerIncarnation, lastSeq] } }
 */

export type HeartbeatKind = 'hb' | 'join' | 'leave';

export interface Heartbeat {
  readonly kind: HeartbeatKind;
  readonly node: string;
  readonly incarnation: string;
  /** For each peer: the incarnation this node links to and the last message seq it published. */
  readonly seqs: ReadonlyMap<string, readonly [string, number]>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_PEERS = 1024;

export function encodeHeartbeat(hb: Heartbeat): string {
  const q: Record<string, [string, number]> = {};
  for (const [peer, v] of hb.seqs) q[peer] = [v[0], v[1]];
  return JSON.stringify({ v: 1, k: hb.kind, n: hb.node, i: hb.incarnation, q });
}

/** Throws `TypeError` on anything that is not a heartbeat. */
export function decodeHeartbeat(data: Uint8Array): Heartbeat {
  if (data.length > 256 * 1024) throw new TypeError('heartbeat too large');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw new TypeError('heartbeat is not JSON');
  }
  const b = body as Record<string, unknown>;
  if (
    b === null ||
    typeof b !== 'object' ||
    b.v !== 1 ||
    (b.k !== 'hb' && b.k !== 'join' && b.k !== 'leave') ||
    typeof b.n !== 'string' ||
    !NAME.test(b.n) ||
    typeof b.i !== 'string' ||
    b.i.length > 64 ||
    b.q === null ||
    typeof b.q !== 'object' ||
    Array.isArray(b.q)
  ) {
    throw new TypeError('heartbeat has the wrong shape');
  }
  const seqs = new Map<string, readonly [string, number]>();
  const entries = Object.entries(b.q as Record<string, unknown>);
  if (entries.length > MAX_PEERS) throw new TypeError('heartbeat lists too many peers');
  for (const [peer, v] of entries) {
    if (
      !NAME.test(peer) ||
      !Array.isArray(v) ||
      v.length !== 2 ||
      typeof v[0] !== 'string' ||
      typeof v[1] !== 'number' ||
      !Number.isSafeInteger(v[1]) ||
      v[1] < 0
    ) {
      throw new TypeError('heartbeat has a bad sequence entry');
    }
    seqs.set(peer, [v[0], v[1]]);
  }
  return { kind: b.k, node: b.n, incarnation: b.i, seqs };
}
