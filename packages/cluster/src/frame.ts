/**
 * The wire format of one NATS message between two nodes: a batch of entries (messages and
 * control signals), coalesced from one turn of the event loop.
 *
 *   'T' '2' | u32 header length (big endian) | header: JSON | payload bytes, one after another
 *
 * header: { f: from node, i: its incarnation, t: the target incarnation it believes in,
 *           s: sequence number of the first entry, w: the lowest sequence number the sender
 *           still holds for resending (entries before it were given up: the sender counted
 *           them), a?: [settled, received], the reverse direction's ack (of the receiver's
 *           link to the sender, every entry below `settled` is settled at the sender and
 *           every entry below `received` arrived there), r?: 1 = resend what did not arrive,
 *           now (a gap was seen), e: entries }
 * entries (arrays; `len` is the byte length of the entry's payload):
 *   [0, path, id, len]                 tell
 *   [0, path, id, len, tp]             tell with a W3C traceparent (the sender traces, a span was current)
 *   [1, path, id, len, ackId]          send: wants an ack once the mailbox accepted it
 *   [1, path, id, len, ackId, tp]      send with a traceparent
 *   [2, ackId, result]                 ack of a send (see AckResult)
 *   [3, path, id]                      watch the local actor path#id for the sender
 *   [4, path, id]                      unwatch
 *   [5, path, id, len]                 the watched actor path#id stopped; payload: its exit reason
 *   [6, path, id, len, askN, ms]       an ask's request, with its timeout in ms
 *   [6, path, id, len, askN, ms, tp]   an ask's request with a traceparent
 *   [7, askN, result]                  an ask that failed on the target (see AckResult)
 *
 * Every entry is numbered s, s+1, … per link and incarnation pair, so the receiver drops what it
 * already has (a resend) and sees what is missing (a gap: it asks for a resend). A frame with no
 * entries carries only an ack. Decoding is bounded and strict: anything else is rejected whole —
 * except the optional traceparent `tp`, which is only carried here (a string, else dropped) and
 * parsed strictly by the receiver (see traceparent.ts): a bad one is ignored, the message
 * delivered.
 */

export const TELL = 0;
export const SEND = 1;
export const ACK = 2;
export const WATCH = 3;
export const UNWATCH = 4;
export const TERMINATED = 5;
export const ASK = 6;
export const ASK_FAILED = 7;

/** Outcome of a send, in its ack. */
export const AckResult = {
  Accepted: 0,
  /** No such actor (or stopped). */
  Stopped: 1,
  /** The payload did not decode. */
  Invalid: 2,
  /** The receiving node could not take it (mailbox refused under a dropping policy, or overloaded). */
  Dropped: 3,
} as const;
export type AckResult = (typeof AckResult)[keyof typeof AckResult];

export type Entry =
  | readonly [typeof TELL, string, string, Uint8Array, string?]
  | readonly [typeof SEND, string, string, Uint8Array, number, string?]
  | readonly [typeof ACK, number, AckResult]
  | readonly [typeof WATCH | typeof UNWATCH, string, string]
  | readonly [typeof TERMINATED, string, string, Uint8Array]
  | readonly [typeof ASK, string, string, Uint8Array, number, number, string?]
  | readonly [typeof ASK_FAILED, number, AckResult];

export interface Frame {
  readonly from: string;
  readonly incarnation: string;
  readonly target: string;
  /** Sequence number of the first entry. */
  readonly seq: number;
  /** The lowest sequence number the sender still holds (see the header's `w`). */
  readonly base: number;
  /** The reverse direction's ack, if the sender has one. */
  readonly ack: FrameAck | undefined;
  /** The sender saw a gap: resend what it has not received. */
  readonly resend: boolean;
  readonly entries: Entry[];
}

/** An ack of the reverse direction: entries below `settled` are settled, below `received` arrived. */
export interface FrameAck {
  readonly settled: number;
  readonly received: number;
}

/** What a frame says besides its entries. */
export interface FrameHeader {
  readonly from: string;
  readonly incarnation: string;
  readonly target: string;
  readonly seq: number;
  readonly base: number;
  readonly ack?: FrameAck | undefined;
  readonly resend?: boolean;
}

/** An entry as the link holds it before flushing: payloads already encoded. */
export type OutEntry =
  | [typeof TELL, string, string, Buffer, string?]
  | [typeof SEND, string, string, Buffer, number, string?]
  | [typeof ACK, number, AckResult]
  | [typeof WATCH | typeof UNWATCH, string, string]
  | [typeof TERMINATED, string, string, Buffer]
  | [typeof ASK, string, string, Buffer, number, number, string?]
  | [typeof ASK_FAILED, number, AckResult];

/** Whether an entry is a message (counted per link as sent, received, lost), not a control signal. */
export function isMessageEntry(kind: number): boolean {
  return kind === TELL || kind === SEND || kind === ASK;
}

const MAGIC_0 = 0x54; // 'T'
const MAGIC_1 = 0x32; // '2'
const PREFIX = 6;

/** Encodes a frame. `entries` keep their payload buffers; the header carries their lengths. */
export function encodeFrame(header: FrameHeader, entries: readonly OutEntry[]): Buffer {
  const meta: unknown[] = new Array(entries.length);
  let payloadBytes = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as OutEntry;
    switch (e[0]) {
      case TELL:
        meta[i] =
          e[4] === undefined ? [e[0], e[1], e[2], e[3].length] : [e[0], e[1], e[2], e[3].length, e[4]];
        payloadBytes += e[3].length;
        break;
      case TERMINATED:
        meta[i] = [e[0], e[1], e[2], e[3].length];
        payloadBytes += e[3].length;
        break;
      case SEND:
        meta[i] =
          e[5] === undefined
            ? [e[0], e[1], e[2], e[3].length, e[4]]
            : [e[0], e[1], e[2], e[3].length, e[4], e[5]];
        payloadBytes += e[3].length;
        break;
      case ASK:
        meta[i] =
          e[6] === undefined
            ? [e[0], e[1], e[2], e[3].length, e[4], e[5]]
            : [e[0], e[1], e[2], e[3].length, e[4], e[5], e[6]];
        payloadBytes += e[3].length;
        break;
      default:
        meta[i] = e;
    }
  }
  const h: Record<string, unknown> = {
    f: header.from,
    i: header.incarnation,
    t: header.target,
    s: header.seq,
    w: header.base,
  };
  if (header.ack !== undefined) h.a = [header.ack.settled, header.ack.received];
  if (header.resend === true) h.r = 1;
  h.e = meta;
  const json = JSON.stringify(h);
  const headerBytes = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(PREFIX + headerBytes + payloadBytes);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out.writeUInt32BE(headerBytes, 2);
  out.write(json, PREFIX, 'utf8');
  let at = PREFIX + headerBytes;
  for (const e of entries) {
    if (e[0] === TELL || e[0] === TERMINATED || e[0] === SEND || e[0] === ASK) {
      e[3].copy(out, at);
      at += e[3].length;
    }
  }
  return out;
}

/** Bytes one entry adds to a frame, roughly (for splitting frames under `max_payload`). */
export function entrySize(e: OutEntry): number {
  const fixed = 24;
  switch (e[0]) {
    case TELL:
      return fixed + e[1].length + e[2].length + e[3].length + (e[4]?.length ?? 0);
    case SEND:
      return fixed + e[1].length + e[2].length + e[3].length + (e[5]?.length ?? 0);
    case ASK:
      return fixed + 12 + e[1].length + e[2].length + e[3].length + (e[6]?.length ?? 0);
    case TERMINATED:
      return fixed + e[1].length + e[2].length + e[3].length;
    case ACK:
    case ASK_FAILED:
      return fixed;
    default:
      return fixed + e[1].length + e[2].length;
  }
}

const MAX_ENTRIES = 100_000;

/** Decodes a frame; throws `TypeError` saying what is wrong with anything that is not one. */
export function decodeFrame(data: Uint8Array): Frame {
  if (data.length < PREFIX || data[0] !== MAGIC_0 || data[1] !== MAGIC_1)
    throw new TypeError('not a Troupe frame');
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const headerBytes = view.readUInt32BE(2);
  if (PREFIX + headerBytes > view.length) throw new TypeError('frame header overruns the message');
  let header: unknown;
  try {
    header = JSON.parse(view.toString('utf8', PREFIX, PREFIX + headerBytes));
  } catch {
    throw new TypeError('frame header is not JSON');
  }
  const h = header as Record<string, unknown>;
  if (
    h === null ||
    typeof h !== 'object' ||
    typeof h.f !== 'string' ||
    typeof h.i !== 'string' ||
    typeof h.t !== 'string' ||
    !isSeq(h.s) ||
    !isSeq(h.w) ||
    (h.a !== undefined &&
      (!Array.isArray(h.a) || h.a.length !== 2 || !isSeq(h.a[0]) || !isSeq(h.a[1]) || h.a[0] > h.a[1])) ||
    (h.r !== undefined && h.r !== 1) ||
    !Array.isArray(h.e) ||
    h.e.length > MAX_ENTRIES
  ) {
    throw new TypeError('frame header has the wrong shape');
  }
  if ((h.w as number) > (h.s as number)) throw new TypeError('frame holds nothing before its window base');
  let at = PREFIX + headerBytes;
  const take = (len: unknown): Uint8Array => {
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || at + len > view.length) {
      throw new TypeError('frame payload length is wrong');
    }
    const bytes = view.subarray(at, at + len);
    at += len;
    return bytes;
  };
  const entries: Entry[] = new Array(h.e.length);
  for (let i = 0; i < h.e.length; i++) {
    const e = h.e[i] as unknown[];
    if (!Array.isArray(e)) throw new TypeError('frame entry is not an array');
    const kind = e[0];
    if (kind === TELL) {
      if ((e.length !== 4 && e.length !== 5) || !isText(e[1]) || !isText(e[2]))
        throw new TypeError('bad entry');
      const payload = take(e[3]);
      const tp = traceparentOf(e[4]);
      entries[i] = tp === undefined ? [TELL, e[1], e[2], payload] : [TELL, e[1], e[2], payload, tp];
    } else if (kind === TERMINATED) {
      if (e.length !== 4 || !isText(e[1]) || !isText(e[2])) throw new TypeError('bad entry');
      entries[i] = [kind, e[1], e[2], take(e[3])];
    } else if (kind === SEND) {
      if ((e.length !== 5 && e.length !== 6) || !isText(e[1]) || !isText(e[2]) || !isSeq(e[4]))
        throw new TypeError('bad send entry');
      const payload = take(e[3]);
      const tp = traceparentOf(e[5]);
      entries[i] =
        tp === undefined
          ? [SEND, e[1], e[2], payload, e[4] as number]
          : [SEND, e[1], e[2], payload, e[4] as number, tp];
    } else if (kind === ASK) {
      if (
        (e.length !== 6 && e.length !== 7) ||
        !isText(e[1]) ||
        !isText(e[2]) ||
        !isSeq(e[4]) ||
        !isSeq(e[5])
      )
        throw new TypeError('bad ask entry');
      const payload = take(e[3]);
      const tp = traceparentOf(e[6]);
      entries[i] =
        tp === undefined
          ? [ASK, e[1], e[2], payload, e[4] as number, e[5] as number]
          : [ASK, e[1], e[2], payload, e[4] as number, e[5] as number, tp];
    } else if (kind === ACK || kind === ASK_FAILED) {
      if (e.length !== 3 || !isSeq(e[1]) || typeof e[2] !== 'number' || !(e[2] >= 0 && e[2] <= 3)) {
        throw new TypeError('bad ack entry');
      }
      entries[i] = [kind, e[1] as number, e[2] as AckResult];
    } else if (kind === WATCH || kind === UNWATCH) {
      if (e.length !== 3 || !isText(e[1]) || !isText(e[2])) throw new TypeError('bad watch entry');
      entries[i] = [kind, e[1], e[2]];
    } else {
      throw new TypeError('unknown entry kind');
    }
  }
  if (at !== view.length) throw new TypeError('frame has trailing bytes');
  return {
    from: h.f,
    incarnation: h.i,
    target: h.t,
    seq: h.s as number,
    base: h.w as number,
    ack: Array.isArray(h.a) ? { settled: h.a[0] as number, received: h.a[1] as number } : undefined,
    resend: h.r === 1,
    entries,
  };
}

/** A message's traceparent as carried: a short string, else none (the receiver validates it). */
function traceparentOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 64 ? value : undefined;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 4096;
}

function isSeq(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
