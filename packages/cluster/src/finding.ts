import type { NatsConnection } from '@nats-io/nats-core';
import {
  type ActorRef,
  type ActorSystem,
  AskTimeoutError,
  formatAddress,
  type Message,
  OptionChecks,
  parseAddress,
} from '@troupe/runtime';
import { ActorNotFoundError, LookupTimeoutError, NodeUnreachableError } from './errors.js';
import type { Peers } from './peers.js';
import type { Registry } from './registry.js';
import { type RpcRequest, requestRpc, rpcSubject } from './rpc.js';

/** Where to find an actor by path: an address `troupe://cluster@node/path[#id]`, or its parts. */
export type ActorLocation = string | { readonly node: string; readonly path: string };

/** What finding actors needs from its node. @internal */
export interface FindingHost {
  readonly name: string;
  readonly cluster: string;
  readonly system: ActorSystem;
  readonly nc: NatsConnection;
  readonly peers: Peers;
  readonly registry: Registry;
  refFor<M extends Message>(address: string): ActorRef<M>;
}

/**
 * Finding actors beyond `find`: by path on a node (`ClusterNode.resolve`), and waiting for a
 * service key (`ClusterNode.waitFor`). See those methods for the contracts.
 *
 * @internal
 */
export async function resolveActor<M extends Message>(
  host: FindingHost,
  where: ActorLocation,
  options: { readonly timeoutMs?: number },
): Promise<ActorRef<M>> {
  const target = location(host.cluster, where);
  const timeoutMs = options.timeoutMs ?? host.system.askTimeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new RangeError(`resolve: timeoutMs must be a finite number > 0; got ${String(timeoutMs)}`);
  const address = formatAddress({ system: host.cluster, node: target.node, path: target.path });
  if (target.node === host.name) {
    const ref = host.system.lookup(target.path);
    if (ref === undefined || (target.id !== undefined && ref.id !== target.id))
      throw new ActorNotFoundError(address);
    return ref as unknown as ActorRef<M>;
  }
  if (host.peers.upPeer(target.node) === undefined) throw new NodeUnreachableError(target.node, address);
  const request: RpcRequest =
    target.id === undefined
      ? { op: 'resolve', path: target.path }
      : { op: 'resolve', path: target.path, id: target.id };
  const answer = await requestRpc(host.nc, rpcSubject(host.cluster, target.node), request, timeoutMs);
  if (answer === 'noResponders') throw new NodeUnreachableError(target.node, address);
  if (answer === 'timeout') throw new AskTimeoutError(address, timeoutMs);
  if (typeof answer.id !== 'string') throw new ActorNotFoundError(address);
  return host.refFor<M>(
    formatAddress({ system: host.cluster, node: target.node, path: target.path, id: answer.id }),
  );
}

/** What this node answers to a `resolve` on its request-reply subject. */
export function answerResolve(
  system: ActorSystem,
  path: string,
  id: string | undefined,
): Record<string, unknown> {
  const ref = system.lookup(path);
  if (ref === undefined || (id !== undefined && ref.id !== id)) return { notFound: true };
  return { id: ref.id };
}

/** Resolves once `count` refs are registered under `key`; see `ClusterNode.waitFor`. @internal */
export function waitForKey(
  registry: Registry,
  key: string,
  options: { readonly timeoutMs?: number; readonly count?: number },
  defaultTimeoutMs: number,
): Promise<ActorRef<Message>[]> {
  const checks = new OptionChecks('waitFor');
  const timeoutMs = checks.run(() => {
    const ms = options.timeoutMs ?? defaultTimeoutMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
      throw new RangeError(`timeoutMs must be a finite number >= 0; got ${String(ms)}`);
    return ms;
  }, 0);
  const count = checks.run(() => {
    const n = options.count ?? 1;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`count must be an integer >= 1; got ${String(n)}`);
    return n;
  }, 1);
  try {
    checks.done();
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<ActorRef<Message>[]>((resolve, reject) => {
    let found = 0;
    let done = false;
    let unsubscribe: (() => void) | undefined;
    const timer = setTimeout(() => {
      done = true;
      unsubscribe?.();
      reject(new LookupTimeoutError(key, timeoutMs, count, found));
    }, timeoutMs);
    unsubscribe = registry.subscribe(key, (refs) => {
      found = refs.length;
      if (done || refs.length < count) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      resolve([...refs]);
    });
    if (done) unsubscribe();
  });
}

function location(
  cluster: string,
  where: ActorLocation,
): { node: string; path: string; id: string | undefined } {
  if (typeof where === 'string') {
    const parts = parseAddress(where);
    if (parts.system !== cluster)
      throw new TypeError(`resolve: address of another cluster: ${where.slice(0, 120)}`);
    if (parts.node === undefined)
      throw new TypeError(`resolve: address without a node: ${where.slice(0, 120)}`);
    return { node: parts.node, path: parts.path, id: parts.id };
  }
  if (
    where === null ||
    typeof where !== 'object' ||
    typeof where.node !== 'string' ||
    typeof where.path !== 'string'
  )
    throw new TypeError('resolve: give an address or { node, path }');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(where.node))
    throw new TypeError(`resolve: bad node name ${JSON.stringify(where.node).slice(0, 80)}`);
  if (!where.path.startsWith('/'))
    throw new TypeError(`resolve: path must start with '/'; got ${JSON.stringify(where.path).slice(0, 80)}`);
  return { node: where.node, path: where.path, id: undefined };
}
