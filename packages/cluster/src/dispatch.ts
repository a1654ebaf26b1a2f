import type { ActorRef, ActorSystem, Message } from '@troupe/runtime';
import { encodeReason } from './exit-reasons.js';
import {
  ACK,
  type AckResult,
  ASK_FAILED,
  decodeFrame,
  type Entry,
  type Frame,
  type OutEntry,
  TERMINATED,
  UNWATCH,
  WATCH,
} from './frame.js';
import { Inbound } from './inbound.js';
import type { Peers } from './peers.js';
import type { PeerCounters } from './stats.js';
import type { Watches } from './watches.js';

/** What inbound dispatch needs from its node. @internal */
export interface DispatchHost {
  readonly name: string;
  readonly incarnation: string;
  readonly system: ActorSystem;
  readonly linkCapacity: number;
  readonly peers: Peers;
  readonly watches: Watches;
  countersOf(node: string): PeerCounters;
  resolveLocal(path: string, id: string): ActorRef<Message> | 'lateReply' | 'stopped';
  decode(payload: Uint8Array): unknown;
  /** The cluster address of a local path (for dead letters). */
  localAddress(path: string): string;
  /** An ask made here failed on its target node. */
  askFailed(node: string, n: number, result: AckResult): void;
  /** Counts and dead-letters bytes that are not what they should be. */
  invalid(data: Uint8Array, error: unknown): void;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Frames into this node: each from one incarnation of a peer, to this incarnation, handed to
 * that pair's {@link Inbound}; the acks they carry settle this node's link back; control
 * entries go where they belong (send acks and failed asks to the links and replies, watches to
 * {@link Watches}). A frame for an earlier incarnation of this node is dropped (its sender counts
 * it lost once it sees this one); garbage is an `invalid` dead letter, counted.
 *
 * @internal
 */
export class Dispatch {
  private readonly inbounds = new Map<string, Inbound>();
  staleFrames = 0;

  constructor(private readonly host: DispatchHost) {}

  onFrame(data: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(data);
      if (frame.from === this.host.name || !NAME.test(frame.from) || frame.incarnation.length > 64) {
        throw new TypeError('frame from a bad sender');
      }
    } catch (error) {
      this.host.invalid(data, error);
      return;
    }
    if (frame.target !== this.host.incarnation) {
      this.staleFrames++;
      return;
    }
    // Only heartbeats make a peer up; a frame proves a known peer alive and carries its acks.
    const peer = this.host.peers.alive(frame.from, frame.incarnation);
    if (peer !== undefined && frame.ack !== undefined) {
      peer.link.peerAcked(frame.ack.settled, frame.ack.received);
      if (frame.resend) peer.link.resend(false);
    }
    this.inbound(frame.from, frame.incarnation).receive(frame);
  }

  /** What this node has of `node`'s link to it: the ack to carry back. */
  ackFor(node: string, incarnation: string): { settled: number; received: number } | undefined {
    const inbound = this.inbounds.get(`${node}|${incarnation}`);
    return inbound === undefined ? undefined : { settled: inbound.settled(), received: inbound.received() };
  }

  /** That incarnation will never come back: forget what arrived from it. */
  forget(node: string, incarnation: string): void {
    this.inbounds.delete(`${node}|${incarnation}`);
  }

  private inbound(from: string, incarnation: string): Inbound {
    const key = `${from}|${incarnation}`;
    let inbound = this.inbounds.get(key);
    if (inbound === undefined) {
      inbound = new Inbound(
        {
          resolveLocal: (path, id) => this.host.resolveLocal(path, id),
          decode: (payload) => this.host.decode(payload),
          deadLetter: (reason, message, recipient) =>
            this.host.system.deadLetter(reason, message, this.host.localAddress(recipient)),
          ack: (peer, inc, n, result) => this.control(peer, inc, [ACK, n, result]),
          askFailed: (peer, inc, n, result) => this.control(peer, inc, [ASK_FAILED, n, result]),
          tellStopped: (peer, inc, path, id) =>
            this.control(peer, inc, [TERMINATED, path, id, encodeReason({ type: 'shutdown' })]),
          control: (peer, inc, entry) => this.onControl(peer, inc, entry),
          ackSoon: (peer, inc, gap) => this.host.peers.current(peer, inc)?.link.requestAck(gap),
        },
        from,
        incarnation,
        this.host.countersOf(from),
        this.host.linkCapacity,
      );
      this.inbounds.set(key, inbound);
    }
    return inbound;
  }

  private control(peer: string, incarnation: string, entry: OutEntry): void {
    this.host.peers.current(peer, incarnation)?.link.control(entry);
  }

  private onControl(peerName: string, incarnation: string, entry: Entry): void {
    const peer = this.host.peers.current(peerName, incarnation);
    switch (entry[0]) {
      case ACK:
        peer?.link.sendAcked(entry[1], entry[2]);
        return;
      case ASK_FAILED:
        if (peer !== undefined) this.host.askFailed(peerName, entry[1], entry[2]);
        return;
      case WATCH:
        this.host.watches.peerWatches(peerName, incarnation, entry[1], entry[2]);
        return;
      case UNWATCH:
        this.host.watches.peerUnwatches(peerName, entry[1], entry[2]);
        return;
      case TERMINATED:
        this.host.watches.terminated(peerName, entry[1], entry[2], entry[3]);
        return;
    }
  }
}
