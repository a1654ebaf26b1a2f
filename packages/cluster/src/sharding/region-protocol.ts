/**
 * What a region speaks: the messages its actor takes from other nodes' regions, where a shard
 * is (a route), what it needs of its node's sharding, the events it publishes, and how an
 * entity's id becomes its actor's name.
 *
 * @internal
 */
import type { ActorRef, ActorSystem, Message } from '@troupe/runtime';

/** Why an entity stopped: passivated (idle, above `maxActive`, on request), moved, fenced or failed. @internal */
export type PassivationReason = 'idle' | 'maxActive' | 'requested' | 'handoff' | 'fenced' | 'failed';

/** What a region actor receives: deliveries forwarded by other nodes, and its own signals. @internal */
export type RegionMessage =
  | { readonly type: '$shard.deliver'; readonly id: string; readonly m: Message; readonly h: number }
  | { readonly type: '$shard.passivate'; readonly id: string }
  | { readonly type: '$shard.tick' };

/** Where a shard is, as this node's region sees it now. @internal */
export type Route =
  /** Owned and started here (with its epoch). */
  | { readonly kind: 'local'; readonly epoch: number }
  /** Owned by another node, whose region is reachable. */
  | { readonly kind: 'remote'; readonly region: ActorRef<RegionMessage> }
  /** Moving, starting, or owned by a node not reachable yet: hold. */
  | { readonly kind: 'hold' }
  /** No node hosts the type. */
  | { readonly kind: 'nowhere' };

/** What a region needs from its node's sharding. @internal */
export interface RegionHost {
  readonly system: ActorSystem;
  readonly node: string;
  readonly shards: number;
  /** Messages held (all shards of the type) at most. */
  readonly holdCapacity: number;
  route(type: string, shard: number): Route;
  /** A one-shot reply ref reachable from every node, and the promise it settles. */
  askReply<R extends Message>(
    target: string,
    timeoutMs: number,
  ): { ref: ActorRef<R>; promise: Promise<R>; fail(error: unknown): void };
  publish(event: RegionEvent): void;
  /** Remember entities: `id` became active / was passivated. */
  remember(id: string, shard: number, active: boolean): void;
}

/** @internal */
export type RegionEvent =
  | {
      readonly type: 'EntityActivated';
      readonly entityType: string;
      readonly id: string;
      readonly node: string;
    }
  | {
      readonly type: 'EntityPassivated';
      readonly entityType: string;
      readonly id: string;
      readonly node: string;
      readonly reason: PassivationReason;
    };

/** An entity's actor name: its id, with anything an actor name may not hold escaped (injective). */
export function entityName(id: string): string {
  let out = 'e-';
  for (const ch of id) {
    if (/^[A-Za-z0-9\-_.:@]$/.test(ch)) out += ch;
    else for (const byte of new TextEncoder().encode(ch)) out += `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A value shaped like a message (`{ type: string }`), read without trusting it. @internal */
export function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as { type?: unknown }).type === 'string';
  } catch {
    return false;
  }
}
