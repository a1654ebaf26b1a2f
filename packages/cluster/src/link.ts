import { ActorStoppedError } from '@troupe/runtime';
import { NodeUnreachableError } from './errors.js';
import { ACK, type AckResult, encodeFrame, entrySize, type OutEntry, SEND, TELL } from './frame.js';
import type { PeerCounters } from './stats.js';

/** What a link needs from its node. @internal */
export interface LinkHost {
  readonly node: string;
  readonly incarnation: string;
  /** Whether the NATS connection is up (else the link holds what it has). */
  readonly connected: boolean;
  /** Largest NATS message the server accepts. */
  readonly maxPayload: number;
  publish(subject: string, frame: Uint8Array): void;
  /** A message entry that will not be sent: a dead letter on this node. */
  undeliverable(reason: 'unreachable' | 'mailboxFull' | 'dropped', entry: OutEntry, address: string): void;
}

interface PendingAck {
  readonly address: string;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The outbound half of this node's link to one incarnation of a peer: a bounded buffer of
 * entries, flushed once per event-loop turn as one NATS message (or a few, under the server's
 * `max_payload` and `maxBatch`), with sequence numbers on message entries so the peer can
 * detect loss. Holds entries while the connection is down, up to `capacity`, then applies its
 * overflow policy. Acks of `send`s come back through the inbound side and settle here.
 *
 * @internal
 */
export class Link {
  private entries: OutEntry[] = [];
  /** Message entries (tell, send) in `entries`: what `capacity` bounds. */
  private messages = 0;
  private nextSeq = 0;
  private scheduled = false;
  private closed = false;
  private nextAck = 0;
  private readonly acks = new Map<number, PendingAck>();
  /** `send`s waiting for room under `block`, FIFO. */
  private roomWaiters: (() => void)[] = [];
  private readonly subject: string;
  private readonly flushNow = () => this.flush();

  constructor(
    private readonly host: LinkHost,
    readonly peer: string,
    readonly peerIncarnation: string,
    subject: string,
    private readonly capacity: number,
    private readonly overflow: 'block' | 'dropNewest' | 'dropOldest',
    private readonly maxBatch: number,
    readonly counters: PeerCounters,
  ) {
    this.subject = subject;
  }

  /**
   * Queues a tell. Returns false when the link refused it (full under `block` or
   * `dropNewest`, or closed); the caller dead-letters it then.
   */
  offerTell(entry: OutEntry): boolean {
    if (this.closed) return false;
    if (this.messages >= this.capacity) {
      if (this.overflow === 'dropOldest' && this.evictOldest()) {
        // room made: fall through
      } else return false;
    }
    this.push(entry, true);
    return true;
  }

  /** Queues a control entry (ack, watch, unwatch, terminated): never refused while open. */
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
    while (!this.closed && this.messages >= this.capacity) {
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

  /** An ack came back from the peer. */
  acked(n: number, result: AckResult): void {
    const pending = this.acks.get(n);
    if (pending === undefined) return; // aborted meanwhile, or garbage
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

  /** Publishes what is queued, in frames under `max_payload`; holds it while disconnected. */
  flush(): void {
    this.scheduled = false;
    if (this.closed || this.entries.length === 0 || !this.host.connected) return;
    const all = this.entries;
    this.entries = [];
    this.messages = 0;
    const limit = Math.max(1024, this.host.maxPayload - 1024);
    let start = 0;
    while (start < all.length) {
      let bytes = 256;
      let end = start;
      let messages = 0;
      while (end < all.length && end - start < this.maxBatch) {
        const size = entrySize(all[end] as OutEntry);
        if (end > start && bytes + size > limit) break;
        bytes += size;
        const kind = (all[end] as OutEntry)[0];
        if (kind === TELL || kind === SEND) messages++;
        end++;
      }
      const batch = start === 0 && end === all.length ? all : all.slice(start, end);
      const seq = this.nextSeq;
      try {
        this.host.publish(
          this.subject,
          encodeFrame(this.host.node, this.host.incarnation, this.peerIncarnation, seq, batch),
        );
        this.nextSeq += messages;
        this.counters.sent += messages;
      } catch {
        // The connection closed under us: what did not go is undeliverable, not lost.
        for (const e of batch) this.dropEntry(e, 'unreachable');
      }
      start = end;
    }
    this.releaseWaiters();
  }

  /** The last message sequence number published (heartbeats carry it, for trailing-loss detection). */
  get lastSeq(): number {
    return this.nextSeq;
  }

  /** The peer is up again (same incarnation): take messages again; sequence numbers go on. */
  reopen(): void {
    this.closed = false;
  }

  /** The peer is gone: everything held is undeliverable, every waiting send fails. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const held = this.entries;
    this.entries = [];
    this.messages = 0;
    for (const e of held) this.dropEntry(e, 'unreachable');
    for (const [, pending] of this.acks) pending.reject(new NodeUnreachableError(this.peer, pending.address));
    this.acks.clear();
    this.releaseWaiters();
  }

  private push(entry: OutEntry, message: boolean): void {
    this.entries.push(entry);
    if (message) this.messages++;
    if (this.entries.length >= this.maxBatch && this.host.connected) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private evictOldest(): boolean {
    const i = this.entries.findIndex((e) => e[0] === TELL || e[0] === SEND);
    if (i < 0) return false;
    const [evicted] = this.entries.splice(i, 1) as [OutEntry];
    this.messages--;
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
    } else if (e[0] === ACK) {
      // the peer's send waits for this ack; the peer fails it when it sees us down
    }
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
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
