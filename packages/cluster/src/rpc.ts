import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/**
 * A node's request-reply subject, `troupe.<cluster>.rpc.<node>`: questions that other nodes and
 * tools ask one node directly (NATS request/reply), answered at once. Read-only. A request is a
 * JSON object of at most 64 KiB with an `op`; an answer is a JSON object. Garbage gets
 * `{ error }` and is counted as invalid input, never thrown.
 *
 * - `{ op: 'probe' }` → `{ node, incarnation }`: is a node of this name alive? (`joinCluster`
 *   refuses a second live node with the same name.)
 * - `{ op: 'resolve', path, id? }` → `{ id }` or `{ notFound: true }`: the actor at `path` now.
 *
 * @internal
 */

export type RpcRequest =
  | { readonly op: 'probe' }
  | { readonly op: 'resolve'; readonly path: string; readonly id?: string };

export type RpcHandler = (request: RpcRequest) => Record<string, unknown>;

const MAX_REQUEST = 64 * 1024;

export function rpcSubject(cluster: string, node: string): string {
  return `troupe.${cluster}.rpc.${node}`;
}

/** Serves `handler` on `subject` until the returned subscription is closed. */
export function serveRpc(
  nc: NatsConnection,
  subject: string,
  handler: RpcHandler,
  invalid: (data: Uint8Array, error: unknown) => void,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) return;
      let answer: Record<string, unknown>;
      try {
        answer = handler(parseRequest(msg));
      } catch (error) {
        invalid(msg.data, error);
        answer = { error: error instanceof Error ? error.message : String(error) };
      }
      try {
        msg.respond(JSON.stringify(answer));
      } catch {
        // no reply subject, or the connection closed: nothing to answer
      }
    },
  });
}

/** How a request ended when no answer came. */
export type RpcFailure = 'noResponders' | 'timeout';

/** Asks `subject`; resolves with the parsed answer, or why there is none. */
export async function requestRpc(
  nc: NatsConnection,
  subject: string,
  request: RpcRequest,
  timeoutMs: number,
): Promise<Record<string, unknown> | RpcFailure> {
  let reply: Msg;
  try {
    reply = await nc.request(subject, JSON.stringify(request), { timeout: timeoutMs });
  } catch (error) {
    if (error instanceof errors.RequestError && error.isNoResponders()) return 'noResponders';
    if (error instanceof errors.NoRespondersError) return 'noResponders';
    if (error instanceof errors.TimeoutError || (error as Error)?.cause instanceof errors.TimeoutError)
      return 'timeout';
    throw error;
  }
  const body: unknown = JSON.parse(reply.string());
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new TypeError('rpc answer is not an object');
  return body as Record<string, unknown>;
}

function parseRequest(msg: Msg): RpcRequest {
  if (msg.data.length > MAX_REQUEST) throw new TypeError('rpc request too large');
  let body: unknown;
  try {
    body = JSON.parse(msg.string());
  } catch {
    throw new TypeError('rpc request is not JSON');
  }
  const b = body as Record<string, unknown> | null;
  if (b === null || typeof b !== 'object' || Array.isArray(b))
    throw new TypeError('rpc request is not an object');
  if (b.op === 'probe') return { op: 'probe' };
  if (b.op === 'resolve') {
    if (typeof b.path !== 'string' || !b.path.startsWith('/') || b.path.length > 4096)
      throw new TypeError('resolve: path must be an absolute actor path');
    if (b.id !== undefined && (typeof b.id !== 'string' || b.id.length > 256))
      throw new TypeError('resolve: id must be a string');
    return b.id === undefined ? { op: 'resolve', path: b.path } : { op: 'resolve', path: b.path, id: b.id };
  }
  throw new TypeError(`unknown rpc op ${JSON.stringify(String(b.op)).slice(0, 40)}`);
}
