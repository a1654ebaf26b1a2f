import {
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { ActorSystem } from '@troupe/runtime';
import { ClusterJoinError } from './errors.js';
import { ClusterNode } from './node.js';
import { type JoinOptions, type ResolvedJoinOptions, validateJoinOptions } from './options.js';
import { requestRpc, rpcSubject } from './rpc.js';

/**
 * Joins `system` to a cluster over NATS and resolves with this node once it is part of it:
 * connected, subscribed, and with its **first view** of the cluster — it has heard every node
 * that answered its announcement (and every node those name as up), and holds each one's
 * registrations, so `await node.find(key)` right after sees what is registered. Alone, it
 * waits one heartbeat interval for answers; the wait is capped at `downAfterMs`.
 *
 * - Options are validated first (a `TypeError`/`RangeError` naming the field, or one
 *   `InvalidOptionsError` naming every bad field, before anything connects).
 * - A refused connection (wrong credentials, no server, TLS) rejects with `ClusterJoinError`.
 * - A second live node with the same name in the same cluster is refused with
 *   `ClusterJoinError`: the name is asked for on the cluster before this node announces itself
 *   (a node that does not answer within a heartbeat interval is taken as gone, with a warning).
 * - `system.shutdown()` leaves the cluster gracefully at its end.
 *
 * Delivery between nodes is at most once and ordered per sender–receiver pair, as in Erlang and
 * Akka, and nothing is lost while both nodes live; nothing vanishes uncounted (see `RemoteRef`
 * for each operation's contract, and `ClusterNode.stats()` for the per-peer counters).
 */
export async function joinCluster(system: ActorSystem, options: JoinOptions): Promise<ClusterNode> {
  const incarnation = randomId();
  const resolved = validateJoinOptions(options, system.name, incarnation.slice(0, 6));
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(resolved));
  } catch (error) {
    throw new ClusterJoinError(
      `cannot join cluster ${resolved.cluster} as ${resolved.node}: NATS at ${resolved.servers.join(', ')} refused: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  let node: ClusterNode | undefined;
  try {
    await refuseDuplicateName(nc, resolved, system);
    node = new ClusterNode(system, nc, resolved, incarnation);
    await node.start();
    return node;
  } catch (error) {
    node?.abandon();
    await nc.close().catch(() => {});
    if (error instanceof ClusterJoinError) throw error;
    throw new ClusterJoinError(`cannot join cluster ${resolved.cluster}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Asks the cluster whether a node named like this one is alive; throws `ClusterJoinError` if so. */
async function refuseDuplicateName(
  nc: NatsConnection,
  o: ResolvedJoinOptions,
  system: ActorSystem,
): Promise<void> {
  const answer = await requestRpc(nc, rpcSubject(o.cluster, o.node), { op: 'probe' }, o.heartbeatMs);
  if (answer === 'noResponders') return;
  if (answer === 'timeout') {
    system.log.warn(
      { cluster: o.cluster, node: o.node },
      'cluster: a node with this name may be alive but does not answer; joining anyway',
    );
    return;
  }
  throw new ClusterJoinError(
    `cannot join cluster ${o.cluster} as ${o.node}: a live node already has that name (incarnation ${String(answer.incarnation).slice(0, 64)})`,
  );
}

function randomId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 16);
}

function connectionOptions(o: ResolvedJoinOptions): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: o.servers,
    name: `troupe:${o.cluster}:${o.node}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: o.connectTimeoutMs,
    pingInterval: 10_000,
    // Request replies (the name probe, resolve) come back under the cluster's own subjects, so a
    // user allowed only `troupe.<cluster>.>` can run a node.
    inboxPrefix: `troupe.${o.cluster}._INBOX`,
  };
  const auth = o.auth;
  if (auth !== undefined) {
    if ('token' in auth) options.token = auth.token;
    else if ('user' in auth) {
      options.user = auth.user;
      options.pass = auth.pass;
    } else if ('nkeySeed' in auth)
      options.authenticator = nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed));
    else options.authenticator = credsAuthenticator(new TextEncoder().encode(auth.creds));
  }
  if (o.tls !== undefined) options.tls = { ...o.tls };
  return options;
}
