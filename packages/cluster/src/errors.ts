/**
 * The actor's node is down, has left, or was never seen: a `send` or `ask` to it fails at once
 * with this error (a `tell` becomes an `unreachable` dead letter instead).
 */
export class NodeUnreachableError extends Error {
  override readonly name = 'NodeUnreachableError';
  readonly code = 'NODE_UNREACHABLE';
  constructor(
    /** The node that cannot be reached. */
    readonly node: string,
    /** The address the message was for. */
    readonly address: string,
  ) {
    super(`node ${node} is unreachable (message for ${address})`);
  }
}

/**
 * A message the cluster's codec cannot put on the wire: a function, a cycle, a class instance
 * the codec refuses, or more bytes than `maxMessageBytes`. Misuse, like a value that is not a
 * message at all, and a `TypeError` like it: thrown by `trySend`, rejected by `send` and `ask`;
 * a `tell` turns it into an `invalid` dead letter on the sending node.
 */
export class MessageEncodeError extends TypeError {
  override readonly name = 'MessageEncodeError';
  readonly code = 'MESSAGE_ENCODE';
  constructor(
    /** The address the message was for. */
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot send to ${address}: ${message}`, options);
  }
}

/** `joinCluster` failed: the NATS connection was refused (wrong credentials, no server, TLS). */
export class ClusterJoinError extends Error {
  override readonly name = 'ClusterJoinError';
  readonly code = 'CLUSTER_JOIN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A durable topic could not store an event (JetStream refused it, timed out, or is unreachable). */
export class DurablePublishError extends Error {
  override readonly name = 'DurablePublishError';
  readonly code = 'DURABLE_PUBLISH';
  constructor(
    /** The durable topic. */
    readonly topic: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`durable topic ${topic}: the event was not stored: ${message}`, options);
  }
}

/**
 * `node.resolve(…)`: nothing lives at that path on that node now (or not the incarnation the
 * address names). The node answered; this is never a timeout.
 */
export class ActorNotFoundError extends Error {
  override readonly name = 'ActorNotFoundError';
  readonly code = 'ACTOR_NOT_FOUND';
  constructor(
    /** The address that was resolved, `troupe://cluster@node/path`. */
    readonly address: string,
  ) {
    super(`no actor at ${address}`);
  }
}

/** `node.waitFor(key, { timeoutMs })`: not enough refs were registered under `key` in time. */
export class LookupTimeoutError extends Error {
  override readonly name = 'LookupTimeoutError';
  readonly code = 'LOOKUP_TIMEOUT';
  constructor(
    /** The service key's id. */
    readonly key: string,
    readonly timeoutMs: number,
    /** How many refs were wanted, and how many were there when the time ran out. */
    readonly wanted: number,
    readonly found: number,
  ) {
    super(
      `no ${wanted === 1 ? 'actor' : `${wanted} actors`} registered under ${key} within ${timeoutMs} ms (found ${found})`,
    );
  }
}

/**
 * Sharding: no node hosts the entity's type now (no node started sharding with it, or they all
 * stopped). An `ask` or `send` fails with this at once; a `tell` is an `unreachable` dead letter.
 */
export class EntityUnreachableError extends Error {
  override readonly name = 'EntityUnreachableError';
  readonly code = 'ENTITY_UNREACHABLE';
  constructor(
    readonly entityType: string,
    readonly id: string,
  ) {
    super(`no node hosts entity type ${entityType} (entity ${id})`);
  }
}
