import { OK, type TrySendResult } from '../channel/results.js';
import type { ActorRef, AskOptions, Message } from './actor-ref.js';
import type { Deadline } from './ask-timeouts.js';
import type { ActorCell } from './cell/actor-cell.js';
import { ActorStoppedError, AskTimeoutError, MessageDroppedError } from './errors.js';
import type { Host } from './host.js';

/**
 * Request-reply to a local actor (see `ActorRef.ask`): sends `build(replyTo)` to `ref` and resolves with
 * the first message told to `replyTo`.
 *
 * - **Timeout.** `timeoutMs` (default: the system's `askTimeoutMs`, 5000) must be a finite
 *   number ≥ 0, else the promise rejects with `RangeError`. Past it the promise rejects with
 *   `AskTimeoutError`, and a reply that still comes is a dead letter (`lateReply`). All asks
 *   share one coarse timer; a pending ask never keeps the process alive by itself… except
 *   until its own timeout.
 * - **Full mailbox.** Under `block` the request waits for room (within the timeout: a request
 *   still waiting when the ask times out is withdrawn, never delivered); under `dropNewest` a
 *   refused request rejects with `MessageDroppedError`.
 * - **Stopped target.** Rejects with `ActorStoppedError`.
 * - Never throws synchronously: every problem is a rejection.
 */
export function askCell<M extends Message, R extends Message>(
  cell: ActorCell<M>,
  build: (replyTo: ActorRef<R>) => M,
  options?: AskOptions,
): Promise<R> {
  const ref = cell.self;
  const host = cell.host;
  const timeoutMs = options?.timeoutMs ?? host.askTimeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    return Promise.reject(
      new RangeError(`ask: timeoutMs must be a finite number >= 0; got ${String(timeoutMs)}`),
    );
  }
  if (cell.status === 'stopped') return Promise.reject(new ActorStoppedError(cell.path));
  if (typeof build !== 'function') return Promise.reject(new TypeError('ask: build must be a function'));
  return new Promise<R>((resolve, reject) => {
    const reply = new ReplyRef<R>(host, cell.path, timeoutMs, resolve, reject);
    try {
      host.asks.add(reply, timeoutMs);
    } catch (error) {
      reject(error); // a clock that throws: nothing was registered
      return;
    }
    let r: TrySendResult<M>;
    try {
      r = ref.trySend(build(reply));
    } catch (error) {
      reply.fail(error);
      return;
    }
    if (r.ok) return;
    if (r.reason === 'closed') reply.fail(new ActorStoppedError(cell.path));
    else if (r.reason === 'dropped') reply.fail(new MessageDroppedError(cell.path));
    else {
      // Wait for room, but only within the timeout: expiring withdraws the request.
      reply.withdraw = new AbortController();
      ref.send(r.value, { signal: reply.withdraw.signal }).catch((error: unknown) => reply.fail(error));
    }
  });
}

let replies = 0;

/**
 * The one-shot `replyTo` of an ask: not an actor, just the promise's resolver behind a ref.
 * The first message settles the ask; any later one — or one after the timeout — is a dead
 * letter (`lateReply`).
 *
 * @internal
 */
class ReplyRef<R extends Message> implements ActorRef<R>, Deadline {
  deadline = 0;
  settled = false;
  queue: unknown = null;
  /** Set while the request waits for mailbox room: aborting it withdraws the request. */
  withdraw: AbortController | null = null;
  private readonly n = ++replies;

  constructor(
    private readonly host: Host,
    private readonly target: string,
    private readonly timeoutMs: number,
    private readonly resolve: (reply: R) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  get id(): string {
    return `ask-${this.n}`;
  }

  get name(): string {
    return `ask-${this.n}`;
  }

  get path(): string {
    return `/temp/ask-${this.n}`;
  }

  tell(message: R): void {
    if (this.settled) {
      this.host.deadLetter('lateReply', message, this.path);
      return;
    }
    this.settled = true;
    this.withdraw = null;
    this.host.asks.settled(this);
    this.host.tracing?.replied(this.target, message);
    this.resolve(message);
  }

  trySend<T extends R>(message: T): TrySendResult<T> {
    this.tell(message);
    return OK;
  }

  send(message: R): Promise<void> {
    this.tell(message);
    return Promise.resolve();
  }

  ask<Q extends Message>(): Promise<Q> {
    return Promise.reject(new TypeError(`cannot ask ${this.path}: it is the reply ref of an ask`));
  }

  toString(): string {
    return this.path;
  }

  toJSON(): { $ref: string } {
    return { $ref: this.path };
  }

  /** Settles with an error before any reply (the request could not be delivered). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.withdraw = null;
    this.host.asks.settled(this);
    this.reject(error);
  }

  /** The timeout passed: rejects, and withdraws the request if it still waits for room. */
  expire(): void {
    if (this.settled) return;
    this.settled = true;
    this.host.asks.settled(this);
    const withdraw = this.withdraw;
    this.withdraw = null;
    withdraw?.abort();
    this.reject(new AskTimeoutError(this.target, this.timeoutMs));
  }
}
