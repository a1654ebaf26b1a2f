/**
 * What both demo web servers (the single-process page, `server.ts`, and the cluster page,
 * `../cluster/web.ts`) check on every request: a typed HTTP error, the Host and Origin checks
 * that keep other sites in the user's browser out, and a bounded JSON body reader.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 4096;

/** Addresses that mean "this machine only". */
export const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An answer with this status and a JSON `{ error }` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * While bound to loopback, only loopback names may be in Host: a page of another site whose
 * DNS name was rebound to 127.0.0.1 sends its own name, and is refused.
 */
export function checkHost(req: IncomingMessage): void {
  const header = req.headers.host;
  if (header === undefined) return;
  const name = header.replace(/:\d+$/, '').toLowerCase();
  if (!LOOPBACK_NAMES.has(name))
    throw new HttpError(403, `Host ${header.slice(0, 100)} refused: use 127.0.0.1`);
}

/**
 * Browsers send `Origin` on cross-origin POSTs: refuse those (another site in the user's browser
 * must not crash actors or kill nodes here). Non-browser clients send none and are fine.
 */
export function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new HttpError(403, 'bad Origin header');
  }
  if (originHost !== req.headers.host)
    throw new HttpError(403, `cross-origin request from ${origin.slice(0, 100)} refused`);
}

/** Reads a JSON object body: 415 unless application/json, 413 past MAX_BODY_BYTES, 400 if malformed. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, `Content-Type must be application/json; got ${type === '' ? 'none' : type}`);
  const tooLarge = () =>
    new HttpError(413, `body is larger than ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `malformed JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Answers with `body`, never cached or sniffed. */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
) {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}
