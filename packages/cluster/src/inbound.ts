import {
  type ActorRef,
  type Message,
  mpsc,
  type Receiver,
  type Sender,
  withTraceContext,
} from '@troupe/runtime';
import { AckResult, type Entry, type Frame, SEND, TELL } from './frame.js';
import type { PeerCounters } from './stats.js';
import { parseTraceparent } from './traceparent.js';

/** What the inbound side needs from its node. @internal */
export interface InboundHost {
  /** The local target of `path#id`, or why there is none. */
  resolveLocal(path: string, id: string): ActorRef<Message> | 'lateReply' | 'stopped';
  /** Decodes a payload (refs included); throws on bytes that do not decode. */
  decode(payload: Uint8Array): unknown;
  deadLetter(
    reason: 'stopped' | 'invalid' | 'lateReply' | 'mailboxFull',
    message: unknown,
    recipient: string,
  ): void;
  ack(peer: string, peerIncarnation: string, n: number, result: AckResult): void;
  /** A control entry (ack, watch, unwatch, terminated). */
  control(peer: string, peerIncarnation: string, entry: Entry): void;
  lost(peer: string, count: number): void;
  /** A frame whose messages were all numbered before what this link expects: replayed or forged. */
  duplicate(peer: string, seq: number): void;
}

/**
 * The inbound half of a link: frames from one incarnation of a peer, processed in order.
 * Checks sequence numbers (a gap is reported as lost) and delivers in order. A message (tell or
 * send) whose target mailbox is full under `block` waits for room — holding back what came
 * after it from the same peer, so per-pair order holds — and a send is acked once accepted.
 * What waits is bounded by `maxBacklog` message entries; beyond that a message is refused (a
 * `mailboxFull` dead letter here, or a `Dropped` ack for a send).
 *
 * @internal
 */
export class Inbound {
  private expected = 0;
  /** What waits behind a send (or tell) blocked on a full mailbox: the runtime's bounded FIFO. */
  private readonly backlog: [Sender<Entry>, Receiver<Entry>];
  private heldMessages = 0;
  private waiting = false;
  /** The highest sequence number the peer said it published (from its heartbeats). */
  private claimed = 0;

  constructor(
    private readonly host: InboundHost,
    readonly peer: string,
    readonly incarnation: string,
    private readonly counters: PeerCounters,
    private readonly maxBacklog: number,
  ) {
    // Messages are bounded by `maxBacklog` (heldMessages); control entries ride along in order.
    this.backlog = mpsc<Entry>(2 * maxBacklog, { overflow: 'block' });
  }

  receive(frame: Frame): void {
    if (frame.seq > this.expected) {
      this.report(frame.seq - this.expected);
      this.expected = frame.seq;
    }
    let messages = 0;
    for (const e of frame.entries) if (e[0] === TELL || e[0] === SEND) messages++;
    if (frame.seq < this.expected) {
      // Entries numbered before what we expect were already counted (received or lost).
      const skip = this.expected - frame.seq;
      if (skip >= messages) {
        this.host.duplicate(this.peer, frame.seq);
        return;
      }
    }
    this.expected = frame.seq + messages;
    for (const e of frame.entries) {
      if (this.waiting || this.backlog[0].length > 0) this.hold(e);
      else this.process(e);
    }
  }

  /**
   * A heartbeat said the peer has published up to `seq` on this link. A claim not met by the
   * next heartbeat is a trailing loss (nothing came after it to show the gap).
   */
  claim(seq: number): void {
    if (this.claimed > this.expected) {
      this.report(this.claimed - this.expected);
      this.expected = this.claimed;
    }
    this.claimed = seq;
  }

  private report(count: number): void {
    this.counters.lost += count;
    this.host.lost(this.peer, count);
  }

  private hold(e: Entry): void {
    const message = e[0] === TELL || e[0] === SEND;
    if (!message || this.heldMessages < this.maxBacklog) {
      if (this.backlog[0].trySend(e).ok) {
        if (message) this.heldMessages++;
        return;
      }
      if (!message) {
        // Twice the backlog in control entries alone (never seen): it cannot wait, so it goes now.
        this.host.control(this.peer, this.incarnation, e);
        return;
      }
    }
    this.counters.received++;
    this.counters.deadLettered++;
    if (e[0] === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Dropped);
    else if (e[0] === TELL) this.host.deadLetter('mailboxFull', this.safeDecode(e[3]), e[1]);
  }

  private process(e: Entry): void {
    if (e[0] !== TELL && e[0] !== SEND) {
      this.host.control(this.peer, this.incarnation, e);
      return;
    }
    this.counters.received++;
    const [kind, path, id, payload] = e;
    const target = this.host.resolveLocal(path, id);
    let message: unknown;
    try {
      message = this.host.decode(payload);
    } catch (error) {
      this.counters.deadLettered++;
      this.host.deadLetter('invalid', { error: String(error), bytes: payload.length }, path);
      if (kind === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Invalid);
      return;
    }
    if (typeof target === 'string') {
      this.counters.deadLettered++;
      if (kind === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Stopped);
      else this.host.deadLetter(target, message, path);
      return;
    }
    // A message sent with a trace context enters the mailbox with the remote span as parent.
    const tp = kind === TELL ? e[4] : e[5];
    const parent = tp === undefined ? undefined : parseTraceparent(tp);
    let r: ReturnType<ActorRef<Message>['trySend']>;
    try {
      r =
        parent === undefined
          ? target.trySend(message as Message)
          : withTraceContext(parent, () => target.trySend(message as Message));
    } catch {
      this.counters.deadLettered++;
      this.host.deadLetter('invalid', message, path);
      if (kind === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Invalid);
      return;
    }
    if (r.ok) {
      this.counters.delivered++;
      if (kind === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Accepted);
      return;
    }
    if (r.reason !== 'full') {
      // Closed, or dropped by the mailbox's dropping policy: the runtime's own dead letter.
      this.counters.deadLettered++;
      if (kind === TELL) {
        if (r.reason === 'closed') target.tell(message as Message);
      } else {
        this.host.ack(
          this.peer,
          this.incarnation,
          e[4],
          r.reason === 'closed' ? AckResult.Stopped : AckResult.Accepted,
        );
      }
      return;
    }
    // A full mailbox (under block): wait for room, holding back what follows from this peer, so
    // a burst from the wire waits in this bounded backlog instead of becoming dead letters.
    this.waiting = true;
    const ackId = kind === SEND ? e[4] : -1;
    const sent =
      parent === undefined
        ? target.send(message as Message)
        : withTraceContext(parent, () => target.send(message as Message));
    sent.then(
      () => {
        this.counters.delivered++;
        if (ackId >= 0) this.host.ack(this.peer, this.incarnation, ackId, AckResult.Accepted);
        this.resume();
      },
      () => {
        this.counters.deadLettered++;
        if (ackId >= 0) this.host.ack(this.peer, this.incarnation, ackId, AckResult.Stopped);
        else target.tell(message as Message); // stopped meanwhile: its stopped dead letter
        this.resume();
      },
    );
  }

  private safeDecode(payload: Uint8Array): unknown {
    try {
      return this.host.decode(payload);
    } catch {
      return { bytes: payload.length };
    }
  }

  private resume(): void {
    this.waiting = false;
    while (!this.waiting) {
      const next = this.backlog[1].tryRecv();
      if (!next.ok) return;
      if (next.value[0] === TELL || next.value[0] === SEND) this.heldMessages--;
      this.process(next.value);
    }
  }
}
