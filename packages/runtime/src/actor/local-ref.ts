import type { TrySendResult, WaitOptions } from '../channel/results.js';
import type { ActorAddress, ActorRef, AskOptions, Message } from './actor-ref.js';
import { formatAddress } from './address.js';
import { askCell } from './ask.js';
import type { ActorCell } from './cell/actor-cell.js';
import { ActorStoppedError } from './errors.js';
import type { Tracing } from './tracing.js';

/**
 * The ref of an actor in this process: a thin handle on its cell. See {@link ActorRef} for
 * the contract.
 *
 * @internal Users see it as `ActorRef<M>`.
 */
export class LocalRef<M extends Message> implements ActorRef<M> {
  constructor(readonly cell: ActorCell<M>) {}

  /** The cell behind an address of this runtime, if it is one. */
  static cellOf(address: ActorAddress | undefined): ActorCell<Message> | undefined {
    return address instanceof LocalRef ? (address.cell as ActorCell<Message>) : undefined;
  }

  get id(): string {
    return this.cell.id;
  }

  get path(): string {
    return this.cell.path;
  }

  get name(): string {
    return this.cell.name;
  }

  tell(message: M): void {
    const cell = this.cell;
    if (!isMessage(message)) {
      cell.deadLetter('invalid', message);
      return;
    }
    const r = cell.mailbox.trySend(message);
    if (r.ok) return;
    if (r.reason === 'full') {
      cell.drop(message);
    } else if (r.reason === 'closed') {
      cell.deadLetter('stopped', message);
    } // 'dropped': the mailbox policy already counted and dead-lettered it
  }

  trySend<T extends M>(message: T): TrySendResult<T> {
    if (!isMessage(message)) throw new TypeError(invalidMessage(message, this.cell.path));
    return this.cell.mailbox.trySend(message) as TrySendResult<T>;
  }

  async send(message: M, options?: WaitOptions): Promise<void> {
    if (!isMessage(message)) throw new TypeError(invalidMessage(message, this.cell.path));
    const r = await this.cell.mailbox.send(message, options?.signal);
    if (r.ok || r.reason === 'dropped') return;
    if (r.reason === 'closed') throw new ActorStoppedError(this.cell.path);
    throw options?.signal?.reason ?? new DOMException('send aborted', 'AbortError');
  }

  ask<R extends Message>(build: (replyTo: ActorRef<R>) => M, options?: AskOptions): Promise<R> {
    return askCell(this.cell, build, options);
  }

  /** Its address, `troupe://<system><path>#<id>` (see `parseAddress`). */
  toString(): string {
    return formatAddress({ system: this.cell.host.system.name, path: this.cell.path, id: this.cell.id });
  }

  /** `{ $ref: address }`: a ref inside a message logged or sent as JSON stays recognisable. */
  toJSON(): { $ref: string } {
    return { $ref: this.toString() };
  }
}

/**
 * The ref of an actor of a system that traces: each message enters the mailbox with the trace
 * context it was sent in (a `TracedMessage`); what comes back to the caller — a refused
 * message in a result — is the message as it was given. A subclass, so that untraced refs are
 * exactly {@link LocalRef}, with nothing to check per message.
 *
 * @internal
 */
export class TracedLocalRef<M extends Message> extends LocalRef<M> {
  constructor(
    cell: ActorCell<M>,
    private readonly tracing: Tracing,
  ) {
    super(cell);
  }

  override tell(message: M): void {
    const cell = this.cell;
    if (!isMessage(message)) {
      cell.deadLetter('invalid', message);
      return;
    }
    const r = cell.mailbox.trySend(this.tracing.wrap(message));
    if (r.ok) return;
    if (r.reason === 'full') cell.drop(message);
    else if (r.reason === 'closed') cell.deadLetter('stopped', message);
  }

  override trySend<T extends M>(message: T): TrySendResult<T> {
    if (!isMessage(message)) throw new TypeError(invalidMessage(message, this.cell.path));
    const r = this.cell.mailbox.trySend(this.tracing.wrap(message));
    return (r.ok ? r : { ok: false, reason: r.reason, value: message }) as TrySendResult<T>;
  }

  override async send(message: M, options?: WaitOptions): Promise<void> {
    if (!isMessage(message)) throw new TypeError(invalidMessage(message, this.cell.path));
    const r = await this.cell.mailbox.send(this.tracing.wrap(message), options?.signal);
    if (r.ok || r.reason === 'dropped') return;
    if (r.reason === 'closed') throw new ActorStoppedError(this.cell.path);
    throw options?.signal?.reason ?? new DOMException('send aborted', 'AbortError');
  }
}

/** @internal Whether `value` has the shape of a message: an object with a string `type`. */
export function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { type?: unknown }).type === 'string';
  } catch {
    return false; // a `type` getter that throws: not a message we can route
  }
}

function invalidMessage(value: unknown, path: string): string {
  const got =
    value === null ? 'null' : typeof value === 'object' ? 'an object without a string type' : typeof value;
  return `message to ${path} must be an object with a string "type"; got ${got}`;
}
