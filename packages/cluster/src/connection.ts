import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '@troupe/runtime';

/**
 * Follows a node's NATS connection: tells the node when it is lost (the links hold what comes,
 * the failure detector pauses) and when it is back (links resend, the node announces itself
 * again). Resolves when the connection is closed for good.
 *
 * @internal
 */
export async function watchConnection(
  nc: NatsConnection,
  log: Logger,
  node: string,
  on: { disconnected(): void; reconnected(): void },
): Promise<void> {
  try {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        on.disconnected();
        log.warn({ node }, 'cluster: NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        log.warn({ node }, 'cluster: NATS connection back');
        on.reconnected();
      }
    }
  } catch (error) {
    log.debug({ err: error }, 'cluster: status stream ended');
  }
}
