import { type ActorRef, type Message, withTraceContext } from '@troupe/runtime';
import { AckResult, ASK, type Entry, type Frame, isMessageEntry, SEND, TELL } from './frame.js';
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
  /** Answers a send (its mailbox accepted it, or why not). */
  ack(peer: string, peerIncarnation: string, n: number, result: AckResult): void;
  /** A tell found no such actor here: tell the sender it is gone, so its ref fails at once from now on. */
  tellStopped(peer: string, peerIncarnation: string, path: string, id: string): void;
  /** Answers an ask that failed here (no such actor, did not decode, dropped). */
  askFailed(peer: string, peerIncarnation: string, n: number, result: AckResult): void;
  /** A control entry (ack, watch, unwatch, terminated, ask failed). */
  control(peer: string, peerIncarnation: string, entry: Entry): void;
  /** Something arrived or settled: send the peer an ack soon; `gap`: ask it to resend now. */
  ackSoon(peer: string, peerIncarnation: string, gap: boolean): void;
}

/** A target whose mailbox is full: the entry that waits for room and what queued behind it. */
interface Blocked {
  /** Sequence number of the entry waiting for room (the lowest unsettled one for this target). */
  seq: number;
  readonly queue: { readonly seq: number; readonly entry: Entry }[];
}

/**
 * The inbound half of a link: frames from one incarnation of a peer, in order.
 *
 * - **Exactly once per entry.** Entries are numbered by the sender; one already seen (a resend)
 *   is dropped, counted in `duplicates`; a frame after a gap is dropped and the sender asked to
 *   resend, so entries are taken in order. Entries the sender gave up on (it says so with its
 *   window base) are skipped: the sender counted them lost.
 * - **Delivery, as a local ref would.** A tell to a full mailbox (under `block`) is that
 *   mailbox's `mailboxFull` dead letter here, as a local `tell` is; a `send` to a full mailbox
 *   waits for room and is acked once accepted; an ask's request waits for room within its
 *   timeout (then it is withdrawn, as locally), and an ask whose target is gone, refused it or
 *   cannot read it is answered at once with the reason.
 * - **Per-target order.** What arrives for a target while a send or ask to it waits for room
 *   queues behind it (bounded by `maxBacklog` messages in all; past that a tell is a
 *   `mailboxFull` dead letter, a send or ask is answered `Dropped`); other targets go on.
 * - **Acks.** `settled()` is the first entry not yet settled (delivered, dead-lettered or
 *   answered): the sender may forget everything below it. `received()` is the next entry
 *   expected.
 *
 * @internal
 */
export class Inbound {
  private expected = 0;
  private readonly blocked = new Map<string, Blocked>();
  private held = 0;

  constructor(
    private readonly host: InboundHost,
    readonly peer: string,
    readonly incarnation: string,
    private readonly counters: PeerCounters,
    private readonly maxBacklog: number,
  ) {}

  /** The next entry expected from the peer: every entry below it has arrived. */
  received(): number {
    return this.expected;
  }

  /** Every entry below this is settled here. */
  settled(): number {
    let low = this.expected;
    for (const b of this.blocked.values()) if (b.seq < low) low = b.seq;
    return low;
  }

  receive(frame: Frame): void {
    if (frame.base > this.expected) this.expected = frame.base; // given up by the sender
    const n = frame.entries.length;
    if (frame.seq > this.expected) {
      // A gap: something before this frame was lost. Take nothing out of order; ask for it.
      this.host.ackSoon(this.peer, this.incarnation, true);
      return;
    }
    const skip = this.expected - frame.seq;
    for (let k = 0; k < Math.min(skip, n); k++)
      if (isMessageEntry((frame.entries[k] as Entry)[0])) this.counters.duplicates++;
    if (skip >= n) {
      // Everything in it was here already (a resend, or an ack-only frame): say so again.
      if (n > 0) this.host.ackSoon(this.peer, this.incarnation, false);
      return;
    }
    for (let k = skip; k < n; k++) {
      const seq = this.expected++;
      this.take(frame.entries[k] as Entry, seq);
    }
    this.host.ackSoon(this.peer, this.incarnation, false);
  }

  private take(e: Entry, seq: number): void {
    if (!isMessageEntry(e[0])) {
      this.host.control(this.peer, this.incarnation, e);
      return;
    }
    this.counters.received++;
    if (this.blocked.size === 0) {
      // The common case: nothing waits for room, so nothing to keep order behind.
      const waiting = this.deliver(e);
      if (waiting !== null) this.wait(`${e[1] as string}#${e[2] as string}`, { seq, queue: [] }, waiting);
      return;
    }
    const key = `${e[1] as string}#${e[2] as string}`;
    const blocked = this.blocked.get(key);
    if (blocked === undefined) {
      const waiting = this.deliver(e);
      if (waiting !== null) this.wait(key, { seq, queue: [] }, waiting);
      return;
    }
    if (this.held >= this.maxBacklog) {
      this.refuse(e);
      return;
    }
    blocked.queue.push({ seq, entry: e });
    this.held++;
  }

  /** Waits for `waiting` (a send or ask waiting for room), then delivers what queued behind it. */
  private wait(key: string, blocked: Blocked, waiting: Promise<void>): void {
    this.blocked.set(key, blocked);
    void waiting.then(() => {
      for (;;) {
        const next = blocked.queue.shift();
        if (next === undefined) break;
        this.held--;
        const more = this.deliver(next.entry);
        if (more !== null) {
          blocked.seq = next.seq;
          this.wait(key, blocked, more);
          return;
        }
      }
      this.blocked.delete(key);
      this.host.ackSoon(this.peer, this.incarnation, false);
    });
  }

  /** Refuses a message that cannot wait: the backlog behind a full mailbox is full too. */
  private refuse(e: Entry): void {
    this.counters.deadLettered++;
    if (e[0] === SEND) this.host.ack(this.peer, this.incarnation, e[4], AckResult.Dropped);
    else if (e[0] === ASK) this.host.askFailed(this.peer, this.incarnation, e[4], AckResult.Dropped);
    else if (e[0] === TELL) this.host.deadLetter('mailboxFull', this.safeDecode(e[3]), e[1]);
  }

  /**
   * Delivers one message entry as a local ref would; returns a promise when it waits for room
   * (a send, or an ask within its timeout), else null (settled: delivered, dead-lettered, or
   * answered). Never rejects.
   */
  private deliver(e: Entry): Promise<void> | null {
    if (e[0] !== TELL && e[0] !== SEND && e[0] !== ASK) return null;
    const [kind, path, id, payload] = e;
    const target = this.host.resolveLocal(path, id);
    let message: unknown;
    try {
      message = this.host.decode(payload);
    } catch (error) {
      this.counters.deadLettered++;
      this.host.deadLetter('invalid', { error: String(error), bytes: payload.length }, path);
      this.answer(e, AckResult.Invalid);
      return null;
    }
    if (typeof target === 'string') {
      this.counters.deadLettered++;
      if (kind !== TELL) this.answer(e, AckResult.Stopped);
      else {
        this.host.deadLetter(target, message, path);
        if (target === 'stopped') this.host.tellStopped(this.peer, this.incarnation, path, id);
      }
      return null;
    }
    // A message sent with a trace context enters the mailbox with the remote span as parent.
    const tp = kind === TELL ? e[4] : kind === SEND ? e[5] : e[6];
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
      this.answer(e, AckResult.Invalid);
      return null;
    }
    if (r.ok) {
      this.counters.delivered++;
      if (kind === SEND) this.answer(e, AckResult.Accepted);
      return null;
    }
    if (r.reason === 'dropped') {
      // The mailbox's dropping policy refused it (and dead-lettered it itself).
      this.counters.deadLettered++;
      if (kind === SEND)
        this.answer(e, AckResult.Accepted); // as a local send under a dropping policy
      else if (kind === ASK) this.answer(e, AckResult.Dropped);
      return null;
    }
    if (r.reason === 'closed' || kind === TELL) {
      // Stopped meanwhile, or a tell to a full mailbox: the local ref's own dead letter
      // (`stopped`, or `mailboxFull`, counted by that actor), exactly as a local tell.
      this.counters.deadLettered++;
      if (kind !== TELL) this.answer(e, AckResult.Stopped);
      else if (parent === undefined) target.tell(message as Message);
      else withTraceContext(parent, () => target.tell(message as Message));
      return null;
    }
    return this.waitForRoom(kind, target, message as Message, e, parent);
  }

  /** Answers a send (accepted or why not) or a failed ask; nothing for a tell. */
  private answer(e: Entry, result: AckResult): void {
    if (e[0] === SEND) this.host.ack(this.peer, this.incarnation, e[4], result);
    else if (e[0] === ASK) this.host.askFailed(this.peer, this.incarnation, e[4], result);
  }

  private waitForRoom(
    kind: typeof SEND | typeof ASK,
    target: ActorRef<Message>,
    message: Message,
    e: Entry,
    parent: ReturnType<typeof parseTraceparent>,
  ): Promise<void> {
    const within = <T>(fn: () => T): T => (parent === undefined ? fn() : withTraceContext(parent, fn));
    const n = e[4] as number;
    // An ask's request waits only within its timeout, as a local ask's does: then it is withdrawn.
    let withdraw: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (kind === ASK) {
      withdraw = new AbortController();
      const controller = withdraw;
      timer = setTimeout(() => controller.abort(), e[5] as number);
      timer.unref();
    }
    const sent = within(() =>
      withdraw === undefined ? target.send(message) : target.send(message, { signal: withdraw.signal }),
    );
    return sent.then(
      () => {
        clearTimeout(timer);
        this.counters.delivered++;
        if (kind === SEND) this.host.ack(this.peer, this.incarnation, n, AckResult.Accepted);
      },
      () => {
        clearTimeout(timer);
        if (withdraw?.signal.aborted) {
          this.counters.expired++; // the asker timed out: withdrawn, never delivered
          return;
        }
        this.counters.deadLettered++;
        if (kind === SEND) this.host.ack(this.peer, this.incarnation, n, AckResult.Stopped);
        else this.host.askFailed(this.peer, this.incarnation, n, AckResult.Stopped);
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
}
