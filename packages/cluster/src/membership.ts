/**
 * Membership over NATS heartbeats (no JetStream needed): every node publishes a heartbeat on
 * `troupe.<cluster>.hb` every `heartbeatMs`; a peer silent for `downAfterMs` (while this node is
 * connected) is declared down. A joining node announces itself (`join`) and every node that
 * hears it answers with a heartbeat at once, so a new node sees the cluster within one round
 * trip; each heartbeat lists the peers its sender sees up, so the newcomer knows whom to wait
 * for. A node that leaves says so (`leave`). A peer that comes back under the same name with a
 * new incarnation is the old one down, then the new one up.
 *
 * Heartbeat body (JSON): { v: 2, k: 'hb' | 'join' | 'leave', n: node, i: incarnation,
 *                          q: { [peer]: [peerIncarnation, settled, received] } }
 * where `settled` and `received` ack the peer's link to the sender (see Inbound): every entry
 * below `settled` is settled, every entry below `received` arrived.
 */

export type HeartbeatKind = 'hb' | 'join' | 'leave';

/** What a heartbeat says of one peer its sender sees up. */
export interface PeerView {
  readonly incarnation: string;
  /** The sender settled every entry of that peer's link to it below this. */
  readonly settled: number;
  /** The sender received every entry of that peer's link to it below this. */
  readonly received: number;
}

export interface Heartbeat {
  readonly kind: HeartbeatKind;
  readonly node: string;
  readonly incarnation: string;
  /** The peers the sender sees up, with its acks of their links to it. */
  readonly peers: ReadonlyMap<string, PeerView>;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_PEERS = 1024;

export function encodeHeartbeat(hb: Heartbeat): string {
  const q: Record<string, [string, number, number]> = {};
  for (const [peer, v] of hb.peers) q[peer] = [v.incarnation, v.settled, v.received];
  return JSON.stringify({ v: 2, k: hb.kind, n: hb.node, i: hb.incarnation, q });
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
    b.v !== 2 ||
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
  const peers = new Map<string, PeerView>();
  const entries = Object.entries(b.q as Record<string, unknown>);
  if (entries.length > MAX_PEERS) throw new TypeError('heartbeat lists too many peers');
  for (const [peer, v] of entries) {
    if (
      !NAME.test(peer) ||
      !Array.isArray(v) ||
      v.length !== 3 ||
      typeof v[0] !== 'string' ||
      v[0].length > 64 ||
      !isSeq(v[1]) ||
      !isSeq(v[2]) ||
      v[1] > v[2]
    ) {
      throw new TypeError('heartbeat has a bad peer entry');
    }
    peers.set(peer, { incarnation: v[0], settled: v[1], received: v[2] });
  }
  return { kind: b.k, node: b.n, incarnation: b.i, peers };
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
