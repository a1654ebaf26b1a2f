import { DecodeError } from './errors.js';

/**
 * How events are stored and read back, for schema evolution: `toJournal` shapes an event for
 * storage (default: the event itself), `fromJournal` turns what was stored — possibly an old
 * shape — into today's event type (default: as stored). Both see plain JSON values; a throw
 * in `fromJournal` is a `DecodeError` naming the persistence id and sequence number.
 */
export interface EventAdapter<E> {
  readonly toJournal?: (event: E) => unknown;
  readonly fromJournal?: (
    stored: unknown,
    meta: { readonly persistenceId: string; readonly seq: number },
  ) => E;
}

/** JSON text of `value`; a value JSON cannot carry (a function, a bigint, a cycle) is a TypeError. */
export function encode(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} cannot be stored as JSON: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`${what} cannot be stored as JSON (got ${typeof value})`);
  return text;
}

/** Parses stored JSON, or throws a `DecodeError` naming where it came from. */
export function decode(payload: string, persistenceId: string, what: string, seq: number): unknown {
  try {
    return JSON.parse(payload);
  } catch (cause) {
    throw new DecodeError(persistenceId, what, seq, { cause });
  }
}

/** Decodes a stored event and runs the adapter's `fromJournal`; any failure is a `DecodeError`. */
export function readEvent<E>(
  pid: string,
  seq: number,
  payload: string,
  adapter: EventAdapter<E> | undefined,
): E {
  const stored = decode(payload, pid, `event ${seq}`, seq);
  if (adapter?.fromJournal === undefined) return stored as E;
  try {
    return adapter.fromJournal(stored, { persistenceId: pid, seq });
  } catch (cause) {
    throw new DecodeError(pid, `event ${seq}`, seq, { cause });
  }
}
