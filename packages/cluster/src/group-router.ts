import { type ActorRef, type Behavior, type Message, receive, withoutTracing } from '@troupe/runtime';
import { MemberRing } from './member-ring.js';
import type { ClusterNode } from './node.js';
import type { ServiceKey } from './service-key.js';

/** How a group router picks a routee for each message. */
export type GroupRouting<M extends Message> =
  | 'roundRobin'
  | 'random'
  /** The same key goes to the same routee while the routees stay the same (see {@link groupRouter}). */
  | { readonly consistentHash: (message: M) => string };

/** Options of {@link groupRouter}. */
export interface GroupRouterOptions<M extends Message> {
  /** The routees: every ref registered under this key, on every node this node sees up. */
  readonly key: ServiceKey<M>;
  readonly routing: GroupRouting<M>;
  /** For `random` (default `Math.random`); a seeded one makes tests deterministic. */
  readonly random?: () => number;
}

/** The registry's new listing, told by the router to itself. */
interface RouteesChanged {
  readonly type: '$groupRouter.routees';
  readonly refs: readonly ActorRef<Message>[];
}

interface State {
  routees: readonly ActorRef<Message>[];
  ring: MemberRing | null;
  next: number;
  routed: number;
  unsubscribe: (() => void) | null;
}

/**
 * A group router over the cluster registry (Akka's group router over the Receptionist): each
 * message told to it goes to one of the refs registered under `key`, on any node. Routees come
 * and go with the registry: an actor that stops, or a node that leaves or is declared down,
 * takes its routees with it; one that registers or joins adds them.
 *
 * - `roundRobin`: in turn, over the routees sorted as the registry lists them.
 * - `random`: uniformly.
 * - `consistentHash`: by the key the function returns, on a hash ring of the routees'
 *   addresses: a key stays on its routee while the routees are stable, and a routee joining or
 *   leaving moves only about 1/N of the keys. Every node computes the same ring: the simple
 *   form of sharding (entities by key across nodes).
 *
 * Delivery is the routee's `tell` (at most once, ordered per routee). **With no routee** a
 * message is an `unreachable` dead letter, never silence. A `consistentHash` function that
 * throws makes that message a `failed` dead letter; the router goes on.
 */
export function groupRouter<M extends Message>(
  node: ClusterNode,
  options: GroupRouterOptions<M>,
): Behavior<M> {
  if (options === null || typeof options !== 'object')
    throw new TypeError('groupRouter: options must be an object');
  const { key, routing } = options;
  if (key === null || typeof key !== 'object' || typeof key.id !== 'string') {
    throw new TypeError('groupRouter: key must be a ServiceKey (serviceKey(id))');
  }
  const hashed =
    typeof routing === 'object' && routing !== null && typeof routing.consistentHash === 'function';
  if (routing !== 'roundRobin' && routing !== 'random' && !hashed) {
    throw new TypeError(
      "groupRouter: routing must be 'roundRobin', 'random' or { consistentHash: (message) => string }",
    );
  }
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new TypeError('groupRouter: random must be a function');
  const system = node.system;

  const behavior = receive<State, M | RouteesChanged>(
    { routees: [], ring: null, next: 0, routed: 0, unsubscribe: null },
    (state, message, ctx) => {
      if (message.type === '$groupRouter.routees') {
        state.routees = (message as RouteesChanged).refs;
        state.ring = hashed ? new MemberRing(state.routees.map((r) => String(r))) : null;
        state.next = 0;
        return state;
      }
      const routees = state.routees;
      if (routees.length === 0) {
        system.deadLetter('unreachable', message, `${ctx.self.path} (group ${key.id}: no routee)`);
        return state;
      }
      let index: number;
      if (routing === 'roundRobin') {
        index = state.next % routees.length;
        state.next = index + 1;
      } else if (routing === 'random') {
        index = Math.min(routees.length - 1, Math.floor(random() * routees.length));
      } else {
        let k: string;
        try {
          k = String((routing as { consistentHash: (m: M) => string }).consistentHash(message as M));
        } catch (error) {
          system.deadLetter('failed', message, ctx.self.path, error);
          return state;
        }
        index = (state.ring as MemberRing).ownerOf(k);
      }
      state.routed++;
      (routees[index] as ActorRef<Message>).tell(message);
      return state;
    },
    {
      onStart: (ctx) => {
        const state: State = { routees: [], ring: null, next: 0, routed: 0, unsubscribe: null };
        // Routee changes come from the registry: control traffic, never traced.
        state.unsubscribe = node.subscribe(key as ServiceKey<Message>, (refs) => {
          withoutTracing(() => ctx.self.tell({ type: '$groupRouter.routees', refs }));
        });
        return state;
      },
      onStop: (state) => {
        state.unsubscribe?.();
      },
      describe: (state) => ({ key: key.id, routees: state.routees.length, routed: state.routed }),
    },
  );
  return behavior as unknown as Behavior<M>;
}
