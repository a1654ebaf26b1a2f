/**
 * What one node counts about one peer (by name, across the peer's incarnations). On the
 * sending side: `sent` (published) and `undeliverable` (dead-lettered here: unreachable, link
 * full, dropped). On the receiving side: `received` (message entries that arrived), of which
 * `delivered` (accepted by the target mailbox) and `deadLettered` (no such actor, did not
 * decode, mailbox refused it), and `lost` (gaps in the link's sequence numbers: published by the
 * peer, never arrived). For every pair, once traffic settles:
 * `sender.sent = receiver.received + receiver.lost`, and
 * `receiver.received = receiver.delivered + receiver.deadLettered`.
 */
export interface PeerCounters {
  sent: number;
  undeliverable: number;
  received: number;
  delivered: number;
  deadLettered: number;
  lost: number;
}

/** A peer as `ClusterNode.stats()` shows it. */
export interface PeerStats extends Readonly<PeerCounters> {
  readonly node: string;
  readonly status: 'up' | 'down' | 'left';
  readonly incarnation: string;
}

/** `ClusterNode.stats()`. */
export interface ClusterStats {
  readonly node: string;
  readonly incarnation: string;
  readonly connected: boolean;
  readonly peers: readonly PeerStats[];
  /** NATS messages on this node's subjects that were not valid frames (each an `invalid` dead letter). */
  readonly invalidFrames: number;
}

export function newCounters(): PeerCounters {
  return { sent: 0, undeliverable: 0, received: 0, delivered: 0, deadLettered: 0, lost: 0 };
}
