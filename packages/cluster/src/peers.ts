import type { Link } from './link.js';
import { encodeHeartbeat, type Heartbeat, type HeartbeatKind, type PeerView } from './membership.js';

/** One peer incarnation as this node sees it. @internal */
export interface Peer {
  readonly name: string;
  readonly incarnation: string;
  status: 'up' | 'down' | 'left';
  lastSeen: number;
  readonly link: Link;
}

/** What the peer table needs from its node. @internal */
export interface PeersHost {
  readonly name: string;
  readonly incarnation: string;
  /** Whether this node's NATS connection is up now. */
  readonly connected: boolean;
  /** Whether this node is leaving (or left): it takes no new peers. */
  readonly leaving: boolean;
  now(): number;
  newLink(node: string, incarnation: string): Link;
  publishHeartbeat(body: string): void;
  /** What this node has of a peer's link to it, for the heartbeat's acks. */
  ackFor(node: string, incarnation: string): { settled: number; received: number } | undefined;
  /** A peer incarnation is up (first heard, or back after being declared down). */
  up(peer: Peer): void;
  /** A peer incarnation is down or left: what depended on it fails now. */
  gone(peer: Peer, how: 'down' | 'left', silentMs: number, publish: boolean): void;
  /** An incarnation that will never come back (its node restarted): forget its inbound state. */
  replaced(node: string, incarnation: string): void;
}

/**
 * Membership and failure detection: the peer table, fed by heartbeats (see membership.ts).
 *
 * - **Up.** A heartbeat from an incarnation makes it up: a new one replaces the old (the old is
 *   down, then the new one up), the same one back after being declared down reopens its link,
 *   whose sequence numbers go on. A peer that said goodbye stays left.
 * - **Down.** A peer silent for `downAfterMs` is declared down — only while this node is
 *   connected: while it is cut off from NATS it hears no one, so silence proves nothing, and
 *   after it reconnects every peer gets `downAfterMs` anew.
 * - **Acks.** Each heartbeat carries this node's acks of every up peer's link to it; one
 *   received settles this node's link to its sender.
 *
 * @internal
 */
export class Peers {
  private readonly peers = new Map<string, Peer>();

  constructor(
    private readonly host: PeersHost,
    private readonly downAfterMs: number,
  ) {}

  get(name: string): Peer | undefined {
    return this.peers.get(name);
  }

  /** The peer `name` if it is up (and this node is not leaving). */
  upPeer(name: string): Peer | undefined {
    const peer = this.peers.get(name);
    return peer !== undefined && peer.status === 'up' && !this.host.leaving ? peer : undefined;
  }

  /** Whether `name` is up with exactly `incarnation`. */
  isUp(name: string, incarnation: string): boolean {
    const peer = this.peers.get(name);
    return peer !== undefined && peer.status === 'up' && peer.incarnation === incarnation;
  }

  /** The peer `name` if it is up with exactly `incarnation`. */
  current(name: string, incarnation: string): Peer | undefined {
    const peer = this.peers.get(name);
    return peer !== undefined && peer.status === 'up' && peer.incarnation === incarnation ? peer : undefined;
  }

  /** Every peer this node ever saw (their latest incarnation). */
  all(): IterableIterator<Peer> {
    return this.peers.values();
  }

  /** The names of the peers up now, sorted. */
  members(): string[] {
    return [...this.peers.values()]
      .filter((p) => p.status === 'up')
      .map((p) => p.name)
      .sort();
  }

  /** A heartbeat body of `kind`, with this node's acks of every up peer. */
  heartbeatBody(kind: HeartbeatKind): string {
    const peers = new Map<string, PeerView>();
    for (const peer of this.peers.values()) {
      if (peer.status !== 'up') continue;
      const ack = this.host.ackFor(peer.name, peer.incarnation) ?? { settled: 0, received: 0 };
      peers.set(peer.name, { incarnation: peer.incarnation, ...ack });
    }
    return encodeHeartbeat({ kind, node: this.host.name, incarnation: this.host.incarnation, peers });
  }

  heartbeat(kind: HeartbeatKind): void {
    if (!this.host.connected) return;
    this.host.publishHeartbeat(this.heartbeatBody(kind));
  }

  /** Every heartbeat interval: announce, declare silent peers down, resend what waited too long. */
  tick(): void {
    this.heartbeat('hb');
    if (!this.host.connected) return;
    const now = this.host.now();
    for (const peer of [...this.peers.values()]) {
      if (peer.status !== 'up') continue;
      const silent = now - peer.lastSeen;
      if (silent > this.downAfterMs) this.gone(peer, 'down', silent, true);
      else peer.link.tick(now);
    }
  }

  /**
   * A heartbeat from another node (not this one's name). Returns the peer it came from when it
   * is up after this (so the node can answer a join), else undefined.
   */
  onHeartbeat(hb: Heartbeat): Peer | undefined {
    if (hb.kind === 'leave') {
      const peer = this.current(hb.node, hb.incarnation);
      if (peer !== undefined) this.gone(peer, 'left', 0, true);
      return undefined;
    }
    const peer = this.seen(hb.node, hb.incarnation);
    if (peer === undefined) return undefined;
    const view = hb.peers.get(this.host.name);
    if (view !== undefined && view.incarnation === this.host.incarnation) {
      peer.link.peerAcked(view.settled, view.received);
    }
    // A peer that (re)joins may have missed frames: resend at once what it has not received.
    if (hb.kind === 'join') peer.link.resend(true);
    return peer;
  }

  /** A frame from a known, up incarnation proves it alive. */
  alive(name: string, incarnation: string): Peer | undefined {
    const peer = this.current(name, incarnation);
    if (peer !== undefined) peer.lastSeen = this.host.now();
    return peer;
  }

  /** This node reconnected to NATS: every peer gets `downAfterMs` anew; links resend, then flush. */
  reconnected(): void {
    const now = this.host.now();
    for (const peer of this.peers.values()) {
      if (peer.status !== 'up') continue;
      peer.lastSeen = now;
      peer.link.resend(true);
      peer.link.flush();
    }
  }

  /** Flushes every up peer's link (leaving: what is queued goes before the goodbye). */
  flushAll(): void {
    for (const peer of this.peers.values()) if (peer.status === 'up') peer.link.flush();
  }

  /** Every up peer goes (this node left, or its connection closed for good). */
  goneAll(how: 'down' | 'left', publish: boolean): void {
    for (const peer of [...this.peers.values()]) if (peer.status === 'up') this.gone(peer, how, 0, publish);
  }

  private gone(peer: Peer, how: 'down' | 'left', silentMs: number, publish: boolean): void {
    peer.status = how;
    peer.link.close();
    this.host.gone(peer, how, silentMs, publish);
  }

  private seen(node: string, incarnation: string): Peer | undefined {
    if (this.host.leaving) return undefined;
    const now = this.host.now();
    const peer = this.peers.get(node);
    if (peer !== undefined && peer.incarnation === incarnation) {
      peer.lastSeen = now;
      if (peer.status === 'left') return undefined; // it said goodbye: stray heartbeats do not bring it back
      if (peer.status === 'down') {
        peer.status = 'up';
        peer.link.reopen();
        this.host.up(peer);
      }
      return peer;
    }
    if (peer !== undefined) {
      if (peer.status === 'up') this.gone(peer, 'down', now - peer.lastSeen, true);
      this.host.replaced(node, peer.incarnation);
    }
    const fresh: Peer = {
      name: node,
      incarnation,
      status: 'up',
      lastSeen: now,
      link: this.host.newLink(node, incarnation),
    };
    this.peers.set(node, fresh);
    this.host.up(fresh);
    return fresh;
  }
}
