/**
 * What one node counts about one peer (by name, across the peer's incarnations).
 *
 * Sending side:
 * - `sent`: messages (tell, send, ask) published to the peer, each once (resends not counted);
 * - `undeliverable`: messages that never left this node (peer down or unknown, link full,
 *   dropped by the link's policy): each a dead letter here, or a failed `send`/`ask`;
 * - `acknowledged`: sent messages the peer confirmed it settled (delivered or dead-lettered there);
 * - `lost`: sent messages never confirmed when the peer was declared down or left: their fate is
 *   unknown (each published as `MessagesLost` here). While both nodes live this stays 0: the
 *   retransmit window resends what did not arrive;
 * - `resent`: messages published again after a reconnect or a gap (information only).
 *
 * Receiving side:
 * - `received`: messages that arrived from the peer, each once;
 * - `delivered` (accepted by the target mailbox), `deadLettered` (no such actor, did not decode,
 *   mailbox full or stopped: a dead letter here, or the send or ask answered with the reason),
 *   `expired` (an ask's request withdrawn: the asker's timeout passed while it waited for room);
 * - `duplicates`: messages that arrived again (a resend) and were dropped.
 *
 * Once traffic settles: `sent = acknowledged + lost` on the sender; `received = delivered +
 * deadLettered + expired` on the receiver; and while both live, `sender.sent = receiver.received`.
 */
export interface PeerCounters {
  sent: number;
  undeliverable: number;
  acknowledged: number;
  lost: number;
  resent: number;
  received: number;
  delivered: number;
  deadLettered: number;
  expired: number;
  duplicates: number;
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
  /** Frames addressed to an earlier incarnation of this node (dropped: the sender counts them lost). */
  readonly staleFrames: number;
}

/** The per-peer counters as `ClusterNode.stats()` shows them, sorted by peer. */
export function collectStats(
  node: { readonly name: string; readonly incarnation: string; readonly connected: boolean },
  counters: ReadonlyMap<string, PeerCounters>,
  peers: {
    get(name: string): { readonly status: PeerStats['status']; readonly incarnation: string } | undefined;
  },
  invalidFrames: number,
  staleFrames: number,
): ClusterStats {
  const list: PeerStats[] = [];
  for (const [name, c] of counters) {
    const p = peers.get(name);
    list.push({ node: name, status: p?.status ?? 'down', incarnation: p?.incarnation ?? '', ...c });
  }
  list.sort((a, b) => (a.node < b.node ? -1 : 1));
  return {
    node: node.name,
    incarnation: node.incarnation,
    connected: node.connected,
    peers: list,
    invalidFrames,
    staleFrames,
  };
}

export function newCounters(): PeerCounters {
  return {
    sent: 0,
    undeliverable: 0,
    acknowledged: 0,
    lost: 0,
    resent: 0,
    received: 0,
    delivered: 0,
    deadLettered: 0,
    expired: 0,
    duplicates: 0,
  };
}
