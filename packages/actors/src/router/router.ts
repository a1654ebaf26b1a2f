import {
  type ActorContext,
  type ActorRef,
  type Behavior,
  type Intensity,
  type MailboxOptions,
  type Message,
  receive,
  Supervisor,
  type SupervisorMessage,
  supervisor,
} from '@troupe/runtime';
import { checkFunction, checkInteger, checkObject } from '../check-options.js';
import { HashRing } from './hash-ring.js';

/**
 * How a router picks workers:
 * - `'roundRobin'`: each message to the next worker in turn;
 * - `'broadcast'`: every message to every worker (the same message object);
 * - `{ consistentHash }`: by key, on a hash ring with 100 virtual nodes per worker, so messages
 *   with the same key always go to the same worker (and keys spread about evenly).
 */
export type Routing<M extends Message> =
  | 'roundRobin'
  | 'broadcast'
  | { readonly consistentHash: (message: M) => string };

/** Options of {@link router}. */
export interface RouterOptions<M extends Message> {
  /** Workers in the pool. Integer ≥ 1. */
  readonly size: number;
  /** Makes a worker's behaviour; called for each worker at each start and restart. */
  readonly worker: () => Behavior<M>;
  readonly routing: Routing<M>;
  /** The pool supervisor's restart intensity; default `{ maxRestarts: 3, withinMs: 5000 }`. */
  readonly intensity?: Intensity;
  /** Each worker's mailbox (default: the runtime's, 1024 under `block`). */
  readonly mailbox?: MailboxOptions;
}

/** The default restart intensity of a router's pool. */
export const DEFAULT_ROUTER_INTENSITY: Intensity = Object.freeze({ maxRestarts: 3, withinMs: 5000 });

const VNODES = 100;

interface State<M extends Message> {
  readonly pool: ActorRef<SupervisorMessage>;
  /** Known once the pool has told its children. */
  workers: readonly ActorRef<M>[] | null;
  readonly ready: Promise<readonly ActorRef<M>[]>;
  next: number;
  routed: number;
}

/**
 * A pool of `size` workers behind one ref (Akka's pool router): messages told to the router go
 * to a worker by the `routing` rule. Ask through it with a `replyTo` in the message: the worker
 * replies directly.
 *
 * **Supervision.** The router starts a child supervisor, `pool` (strategy `oneForOne`, every
 * worker `permanent`, ids `worker-1` … `worker-N`), so workers sit at
 * `<router path>/pool/worker-i`. A worker that fails is restarted in place by the pool: same
 * ref, mailbox kept, so nothing routed to it is lost except the message that failed (a dead
 * letter, `failed`); the other workers keep serving meanwhile.
 * **Pool failure.** Past the pool's restart `intensity` the pool gives up; the router then fails
 * too (an `Error` whose `cause` is the pool's `RestartIntensityError`), which its own parent
 * answers. If the pool stops for any other reason, the router stops.
 * **Delivery.** With backpressure (`ctx.send`): while the chosen worker's mailbox is full, the
 * router takes no new message (for broadcast: until every worker took it). Messages a worker
 * never handles (it was stopped) are dead letters, as for any actor.
 * **Start.** The router learns its workers' refs from the pool with one request; messages that
 * arrive meanwhile wait in the router's mailbox.
 * **Errors.** Throws `TypeError`/`RangeError` naming the field on bad options (the pool's
 * intensity and mailbox included). A throw from `consistentHash` fails the router.
 *
 * @example
 * const decoders = system.spawn(router({ size: 4, worker: decoder, routing: 'roundRobin' }), { name: 'decoders' });
 * decoders.tell({ type: 'Decode', frame });
 */
export function router<M extends Message>(options: RouterOptions<M>): Behavior<M> {
  const owner = 'router';
  checkObject(owner, options);
  const size = checkInteger(owner, 'size', options.size, 1);
  const worker = checkFunction(owner, 'worker', options.worker);
  const routing = checkRouting(owner, options.routing);
  const ring = typeof routing === 'object' ? new HashRing(size, VNODES) : null;
  const pool = supervisor({
    strategy: 'oneForOne',
    intensity: options.intensity ?? DEFAULT_ROUTER_INTENSITY,
    children: Array.from({ length: size }, (_, i) => ({
      id: `worker-${i + 1}`,
      start: worker as unknown as () => Behavior<Message>,
      restart: 'permanent' as const,
      ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }),
    })),
  });

  const route = (state: State<M>, message: M, ctx: ActorContext<M>): State<M> => {
    const workers = state.workers as readonly ActorRef<M>[];
    state.routed++;
    if (routing === 'broadcast') {
      for (const w of workers) ctx.send(w, message);
    } else if (routing === 'roundRobin') {
      ctx.send(workers[state.next] as ActorRef<M>, message);
      state.next = (state.next + 1) % workers.length;
    } else {
      const node = (ring as HashRing).nodeFor(String(routing.consistentHash(message)));
      ctx.send(workers[node] as ActorRef<M>, message);
    }
    return state;
  };

  return receive<State<M> | null, M>(
    null,
    (state, message, ctx) => {
      const s = state as State<M>;
      if (s.workers !== null) return route(s, message, ctx);
      return s.ready.then((workers) => {
        s.workers = workers;
        return route(s, message, ctx);
      });
    },
    {
      onStart: (ctx) => {
        const ref = ctx.spawn(pool, { name: 'pool' });
        ctx.watch(ref);
        const ready = Supervisor.children(ref).then((children) =>
          children.map((child) => child.ref as unknown as ActorRef<M>),
        );
        ready.catch(() => {}); // observed by the first message's handler, which then fails
        return { pool: ref, workers: null, ready, next: 0, routed: 0 };
      },
      onTerminated: (state, signal, ctx) => {
        if (state === null || signal.ref !== state.pool) return state;
        if (signal.reason.type === 'error') {
          throw new Error(`router ${ctx.self.path}: its worker pool failed`, { cause: signal.reason.error });
        }
        ctx.stop();
        return state;
      },
      describe: (state) => ({
        routing: typeof routing === 'object' ? 'consistentHash' : routing,
        size,
        routed: state?.routed ?? 0,
      }),
    },
  );
}

function checkRouting<M extends Message>(owner: string, routing: Routing<M>): Routing<M> {
  if (routing === 'roundRobin' || routing === 'broadcast') return routing;
  if (routing !== null && typeof routing === 'object' && typeof routing.consistentHash === 'function') {
    return routing;
  }
  throw new TypeError(
    `${owner}: routing must be 'roundRobin', 'broadcast' or { consistentHash: (message) => string }; got ${
      typeof routing === 'string' ? JSON.stringify(routing) : typeof routing
    }`,
  );
}
