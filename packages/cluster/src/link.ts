import { ActorStoppedError } from '@troupe/runtime';
import { NodeUnreachableError } from './errors.js';
import {
  type AckResult,
  ASK,
  encodeFrame,
  entrySize,
  isMessageEntry,
  type OutEntry,
  SEND,
  TELL,
} from './frame.js';
import type { PeerCounters } from './stats.js';

/** What a link needs from its node. @internal */
export interface LinkHost {
  readonly node: string;
  readonly incarnation: string;
  /** Whether the NATS connection is up (else the link holds what it has). */
  readonly connected: boolean;
  /** Largest NATS message the server accepts. */
  readonly maxPayload: number;
  /** A frame the peer has not received after this long (ms) is resent. */
  readonly resendAfterMs: number;
  now(): number;
  publish(subject: string, frame: Uint8Array): void;
  /** What this node has of the peer's entries (the reverse direction), to carry back as an ack. */
  ackFor(peer: string, peerIncarnation: string): { settled: number; received: number } | undefined;
  /** A message entry that will not be sent: a dead letter on this node. */
  undeliverable(reason: 'unreachable' | 'mailboxFull' | 'dropped', entry: OutEntry, address: string): void;
  /** Messages given up unacknowledged (the peer went away): their fate is unknown. */
  lost(peer: string, count: number): void;
}

/** A link's bounds (`LinkOptions`, resolved): queued messages, its overflow policy, batch size, window bytes. */
export interface LinkLimits {
  readonly capacity: number;
  readonly overflow: 'block' | 'dropNewest' | 'dropOldest';
  readonly maxBatch: number;
  readonly windowBytes: number;
}

interface PendingAck {
  readonly address: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** A published frame the peer has not settled yet: kept to resend. */
interface Sent {
  readonly seq: number;
  readonly count: number;
  /** 1 for each entry that is a message (tell, send, ask), 0 for a control entry. */
  readonly kinds: Uint8Array;
  readonly bytes: Buffer;
  sentAt: number;
}

/**
 * The outbound half of this node's link to one incarnation of a peer.
 *
 * - **Coalescing.** Entries queued in one event-loop turn go out as one NATS message (or a few,
 *   under the server's `max_payload` and `maxBatch`).
 * - **Numbering.** Every entry (messages and control signals) gets the next sequence number of
 *   the link, so the peer drops what it already has and sees what is missing.
 * - **Retransmit window.** A published frame is kept until the peer acknowledges that every
 *   entry in it is settled (delivered, dead-lettered or refused there). Acks come back on the
 *   peer's frames, on ack-only frames it sends after each turn that brought it something, and on
 *   its heartbeats. What the peer has not received is resent after a reconnect (ours or the
 *   peer's), when the peer reports a gap, and after `resendAfterMs` without an ack. The peer
 *   drops duplicates by sequence number, so while both nodes live nothing is lost.
 * - **Bounded.** At most `capacity` messages queued (not yet published) and `windowLimit` bytes
 *   of frames kept unacknowledged; past either, the overflow policy applies (`block`: a tell is
 *   refused, a send waits for room). Control entries are never refused while the link is open.
 * - **Closing.** When the peer is declared down or leaves, queued messages are undeliverable
 *   (dead letters here) and unacknowledged ones are given up: counted `lost` (their fate is
 *   unknown) and published as `MessagesLost`. Waiting sends fail with `NodeUnreachableError`.
 *
 * @internal
 */
export class Link {
  private entries: OutEntry[] = [];
  /** Message entries in `entries` (what `capacity` bounds, with the window's). */
  private queued = 0;
  private nextSeq = 0;
  private window: Sent[] = [];
  private head = 0;
  /** Messages published and not yet acknowledged, and the bytes of their frames. */
  private unacked = 0;
  private windowBytes = 0;
  /** The peer settled every entry below this. */
  private settledTo = 0;
  /** The peer received every entry below this. */
  private receivedTo = 0;
  private lastResendAt = Number.NEGATIVE_INFINITY;
  /** When the peer last reported receiving more (a slow peer that progresses is not resent to). */
  private progressAt = 0;
  private ackDue = false;
  private resendDue = false;
  private scheduled = false;
  private closed = false;
  private nextAck = 0;
  private readonly acks = new Map<number, PendingAck>();
  /** `send`s waiting for room under `block`, FIFO. */
  private roomWaiters: (() => void)[] = [];
  private readonly subject: string;
  private readonly flushNow = () => this.flush();
  private readonly capacity: number;
  private readonly overflow: LinkLimits['overflow'];
  private readonly maxBatch: number;
  /** Bytes of frames kept for resending, at most (the retransmit window's bound). */
  private readonly windowLimit: number;

  constructor(
    private readonly host: LinkHost,
    readonly peer: string,
    readonly peerIncarnation: string,
    subject: string,
    limits: LinkLimits,
    readonly counters: PeerCounters,
  ) {
    this.subject = subject;
    this.capacity = limits.capacity;
    this.overflow = limits.overflow;
    this.maxBatch = limits.maxBatch;
    this.windowLimit = limits.windowBytes;
  }

  /**
   * Queues a message entry (tell or ask). Returns false when the link refused it (full under
   * `block` or `dropNewest`, or closed); the caller dead-letters it or fails the ask then.
   */
  offerTell(entry: OutEntry): boolean {
    if (this.closed) return false;
    if (this.full()) {
      if (this.overflow === 'dropOldest' && this.evictOldest()) {
        // room made: fall through
      } else return false;
    }
    this.push(entry, true);
    return true;
  }

  /** Queues a control entry (ack, watch, unwatch, terminated, ask failed): never refused while open. */
  control(entry: OutEntry): void {
    if (this.closed) return;
    this.push(entry, false);
  }

  /**
   * Queues a send and resolves once the peer acknowledged that the target mailbox accepted it.
   * Waits for room first under `block`.
   */
  async send(
    path: string,
    id: string,
    payload: Buffer,
    address: string,
    signal?: AbortSignal,
    traceparent?: string,
  ): Promise<void> {
    while (!this.closed && this.full()) {
      if (this.overflow === 'dropOldest' && this.evictOldest()) break;
      if (this.overflow === 'dropNewest') {
        // As for a local mailbox: a dropping policy never waits; the message is a dead letter.
        this.counters.undeliverable++;
        this.host.undeliverable('dropped', [TELL, path, id, payload], address);
        return;
      }
      await this.waitForRoom(signal);
    }
    if (this.closed) throw new NodeUnreachableError(this.peer, address);
    const n = ++this.nextAck;
    const acked = new Promise<void>((resolve, reject) => {
      this.acks.set(n, { address, resolve, reject });
    });
    this.push(
      traceparent === undefined ? [SEND, path, id, payload, n] : [SEND, path, id, payload, n, traceparent],
      true,
    );
    if (signal !== undefined) {
      const onAbort = () => {
        const pending = this.acks.get(n);
        if (pending === undefined) return;
        this.acks.delete(n);
        pending.reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await acked;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      return;
    }
    return acked;
  }

  /** The peer answered a send: its mailbox accepted it, or why not. */
  sendAcked(n: number, result: AckResult): void {
    const pending = this.acks.get(n);
    if (pending === undefined) return; // aborted meanwhile, a resent answer, or garbage
    this.acks.delete(n);
    if (result === 0) pending.resolve();
    else if (result === 1) pending.reject(new ActorStoppedError(pending.address));
    else
      pending.reject(
        new Error(
          `${pending.address}: the receiving node refused the message (${result === 2 ? 'it did not decode' : 'dropped'})`,
        ),
      );
  }

  /**
   * The peer's ack: it settled every entry below `settled` and received every entry below
   * `received`. Settled frames leave the window (making room); an ack beyond what was sent is
   * ignored (garbage, or an ack for another link's numbers).
   */
  peerAcked(settled: number, received: number): void {
    if (settled > this.nextSeq || received > this.nextSeq) return;
    if (received > this.receivedTo) {
      this.receivedTo = received;
      this.progressAt = this.host.now();
    }
    if (settled <= this.settledTo) return;
    const from = this.settledTo;
    this.settledTo = settled;
    let acknowledged = 0;
    while (this.head < this.window.length) {
      const f = this.window[this.head] as Sent;
      acknowledged += messagesIn(f, from, settled);
      if (f.seq + f.count > settled) break;
      this.windowBytes -= f.bytes.length;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    this.unacked -= acknowledged;
    this.counters.acknowledged += acknowledged;
    if (acknowledged > 0) this.releaseWaiters();
  }

  /**
   * Asks the peer for nothing and tells it what arrived here (an ack-only frame unless entries
   * are going anyway); with `resend`, also that a gap was seen, so it resends at once.
   */
  requestAck(resend = false): void {
    if (this.closed) return;
    this.ackDue = true;
    if (resend) this.resendDue = true;
    this.schedule();
  }

  /**
   * Republishes every frame the peer has not received (go-back-N). `force` skips the rate
   * limit (after a reconnect); otherwise at most one resend per half `resendAfterMs`.
   */
  resend(force: boolean): void {
    if (this.closed || !this.host.connected) return;
    const now = this.host.now();
    if (!force && now - this.lastResendAt < this.host.resendAfterMs / 2) return;
    let i = this.firstUnreceived();
    if (i >= this.window.length) return;
    this.lastResendAt = now;
    for (; i < this.window.length; i++) {
      const f = this.window[i] as Sent;
      try {
        this.host.publish(this.subject, f.bytes);
      } catch {
        return; // the connection closed under us: the next reconnect resends
      }
      f.sentAt = now;
      this.counters.resent += messagesIn(f, f.seq, f.seq + f.count);
    }
  }

  /**
   * Called every heartbeat: resends what has waited `resendAfterMs` for the peer to receive it,
   * unless the peer reported receiving more within that time (it is slow, not missing frames:
   * a gap it sees makes it ask for a resend at once).
   */
  tick(now: number): void {
    const i = this.firstUnreceived();
    if (i >= this.window.length) return;
    const waited = now - Math.max((this.window[i] as Sent).sentAt, this.progressAt);
    if (waited >= this.host.resendAfterMs) this.resend(true);
  }

  /** Publishes what is queued, in frames under `max_payload`; holds it while disconnected. */
  flush(): void {
    this.scheduled = false;
    if (this.closed || !this.host.connected) return;
    if (this.entries.length === 0) {
      if (this.ackDue) this.publishAckOnly();
      return;
    }
    const all = this.entries;
    this.entries = [];
    this.queued = 0;
    const limit = Math.max(1024, this.host.maxPayload - 1024);
    const now = this.host.now();
    let start = 0;
    while (start < all.length) {
      let bytes = 256;
      let end = start;
      while (end < all.length && end - start < this.maxBatch) {
        const size = entrySize(all[end] as OutEntry);
        if (end > start && bytes + size > limit) break;
        bytes += size;
        end++;
      }
      const batch = start === 0 && end === all.length ? all : all.slice(start, end);
      const seq = this.nextSeq;
      this.nextSeq += batch.length;
      const kinds = new Uint8Array(batch.length);
      let messages = 0;
      for (let k = 0; k < batch.length; k++) {
        if (isMessageEntry((batch[k] as OutEntry)[0])) {
          kinds[k] = 1;
          messages++;
        }
      }
      const frame = encodeFrame(this.header(seq), batch);
      this.window.push({ seq, count: batch.length, kinds, bytes: frame, sentAt: now });
      this.unacked += messages;
      this.windowBytes += frame.length;
      this.counters.sent += messages;
      try {
        this.host.publish(this.subject, frame);
      } catch {
        // The connection closed under us: the frame is in the window, resent on reconnect.
      }
      start = end;
    }
    this.releaseWaiters();
  }

  /** The peer is up again (same incarnation): take messages again; sequence numbers go on. */
  reopen(): void {
    this.closed = false;
  }

  /**
   * The peer is gone: what is queued is undeliverable, what is unacknowledged is lost (its fate
   * is unknown), every waiting send fails.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const held = this.entries;
    this.entries = [];
    this.queued = 0;
    for (const e of held) this.dropEntry(e, 'unreachable');
    const lost = this.unacked;
    this.window = [];
    this.head = 0;
    this.unacked = 0;
    this.windowBytes = 0;
    this.settledTo = this.nextSeq;
    this.receivedTo = this.nextSeq;
    if (lost > 0) {
      this.counters.lost += lost;
      this.host.lost(this.peer, lost);
    }
    for (const [, pending] of this.acks) pending.reject(new NodeUnreachableError(this.peer, pending.address));
    this.acks.clear();
    this.releaseWaiters();
  }

  /** Full: `capacity` messages queued, or the window holds `windowLimit` bytes unacknowledged. */
  private full(): boolean {
    return this.queued >= this.capacity || this.windowBytes >= this.windowLimit;
  }

  private header(seq: number) {
    const ack = this.host.ackFor(this.peer, this.peerIncarnation);
    const resend = this.resendDue;
    this.ackDue = false;
    this.resendDue = false;
    return {
      from: this.host.node,
      incarnation: this.host.incarnation,
      target: this.peerIncarnation,
      seq,
      base: this.head < this.window.length ? (this.window[this.head] as Sent).seq : seq,
      ack,
      resend,
    };
  }

  private publishAckOnly(): void {
    try {
      this.host.publish(this.subject, encodeFrame(this.header(this.nextSeq), []));
    } catch {
      // disconnected: the next heartbeat carries the ack
    }
  }

  private firstUnreceived(): number {
    let i = this.head;
    while (i < this.window.length) {
      const f = this.window[i] as Sent;
      if (f.seq + f.count > this.receivedTo) break;
      i++;
    }
    return i;
  }

  private push(entry: OutEntry, message: boolean): void {
    this.entries.push(entry);
    if (message) this.queued++;
    if (this.entries.length >= this.maxBatch && this.host.connected) {
      this.flush();
      return;
    }
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private evictOldest(): boolean {
    const i = this.entries.findIndex((e) => e[0] === TELL || e[0] === SEND);
    if (i < 0) return false;
    const [evicted] = this.entries.splice(i, 1) as [OutEntry];
    this.queued--;
    this.dropEntry(evicted, 'dropped');
    return true;
  }

  private dropEntry(e: OutEntry, reason: 'unreachable' | 'dropped'): void {
    if (e[0] === TELL) {
      this.counters.undeliverable++;
      this.host.undeliverable(reason, e, `${e[1]}#${e[2]}`);
    } else if (e[0] === SEND) {
      const pending = this.acks.get(e[4]);
      this.acks.delete(e[4]);
      this.counters.undeliverable++;
      pending?.reject(
        reason === 'unreachable'
          ? new NodeUnreachableError(this.peer, pending.address)
          : new Error(`${pending.address}: dropped by the link's dropOldest policy`),
      );
    } else if (e[0] === ASK) {
      // The node fails the ask itself (its reply ref), when it sees the peer gone.
      this.counters.undeliverable++;
    }
    // Control entries: the peer's side fails what waited for them when it sees us gone.
  }

  private waitForRoom(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.roomWaiters = this.roomWaiters.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.roomWaiters.push(wake);
    });
  }

  private releaseWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** Messages among `f`'s entries numbered in [from, to). */
function messagesIn(f: Sent, from: number, to: number): number {
  const lo = Math.max(from, f.seq) - f.seq;
  const hi = Math.min(to, f.seq + f.count) - f.seq;
  let n = 0;
  for (let k = lo; k < hi; k++) n += f.kinds[k] as number;
  return n;
}
