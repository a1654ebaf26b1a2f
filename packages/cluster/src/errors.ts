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
 * the codec refuses, or more bytes than `maxMessageBytes`. Thrown by `trySend`, rejected by
 * `send` and `ask`; a `tell` turns it into an `invalid` dead letter on the sending node.
 */
export class MessageEncodeError extends Error {
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
