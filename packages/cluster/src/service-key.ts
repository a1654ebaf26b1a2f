import type { Message } from '@troupe/runtime';

/**
 * A typed key of the cluster registry (Akka's `ServiceKey`): the refs registered under it all
 * accept `M`. Create one per service and share it between the nodes that register and find.
 */
export interface ServiceKey<M extends Message> {
  readonly id: string;
  /** Type-level only: carries `M`. */
  readonly _message?: M;
}

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A registry key. `id`: 1 to 128 letters, digits, `_ . : -`; throws `TypeError` otherwise. */
export function serviceKey<M extends Message>(id: string): ServiceKey<M> {
  if (typeof id !== 'string' || !KEY.test(id)) {
    throw new TypeError(
      `serviceKey: id must be 1 to 128 letters, digits, '_', '.', ':' or '-'; got ${String(id).slice(0, 80)}`,
    );
  }
  return Object.freeze({ id });
}

/** @internal */
export function isServiceKeyId(id: unknown): id is string {
  return typeof id === 'string' && KEY.test(id);
}
