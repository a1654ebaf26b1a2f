/**
 * Which database errors mean "the store cannot serve this now" (a `StoreUnavailableError`), as
 * opposed to the database refusing the data (a constraint, a trigger), which the stores pass on
 * unchanged. One classifier per backend.
 */
import { StoreUnavailableError, type StoreUnavailableReason } from '../errors.js';

/**
 * A better-sqlite3 error as a `StoreUnavailableError`, or undefined when it is something else.
 * `write`: the call writes; an I/O error may then have hit the commit itself, so the outcome is
 * unknown (`mayHaveCommitted`). Busy, read-only and full are refused before anything is stored.
 */
export function sqliteUnavailable(
  store: string,
  error: unknown,
  write: boolean,
): StoreUnavailableError | undefined {
  const code = codeOf(error);
  if (code === undefined || !code.startsWith('SQLITE_')) return undefined;
  let reason: StoreUnavailableReason;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) reason = 'busy';
  else if (code.startsWith('SQLITE_READONLY')) reason = 'readOnly';
  else if (code === 'SQLITE_FULL') reason = 'diskFull';
  else if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) reason = 'io';
  else return undefined;
  // Only an I/O error may have hit the commit itself; the others refuse before anything is stored.
  return new StoreUnavailableError(store, reason, write && code.startsWith('SQLITE_IOERR'), { cause: error });
}

/** PostgreSQL error classes and codes that mean the connection or the server is gone. */
const PG_CONNECTION_CODES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
]);

/** Node socket errors (`error.code`) of a connection that died or could not be made. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg's own messages for a dead or unusable connection (they carry no code). */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Connection terminated due to connection timeout',
];

/**
 * A pg error as a `StoreUnavailableError` when it means the connection died or could not be
 * made, or undefined otherwise. `connectionLost` says the client already reported its connection
 * dead (then whatever the query said, that is the reason). `mayHaveCommitted` is passed on.
 */
export function pgUnavailable(
  store: string,
  error: unknown,
  mayHaveCommitted: boolean,
  connectionLost = false,
): StoreUnavailableError | undefined {
  if (error instanceof StoreUnavailableError) return error;
  if (!connectionLost && !isPgConnectionError(error)) return undefined;
  return new StoreUnavailableError(store, 'connection', mayHaveCommitted, { cause: error });
}

function isPgConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (PG_CONNECTION_CODES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code)) return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isPgConnectionError);
  const message = error instanceof Error ? error.message : '';
  return PG_CONNECTION_MESSAGES.some((m) => message.startsWith(m));
}

function codeOf(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
