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
import { checkFunction, checkInteger, checkOptions } from '../check-options.js';
import { deadLetterFailed } from '../failed-message.js';
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
  /** Messages whose `consistentHash` threw (each a `failed` dead letter). */
  keyErrors: number;
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
 * **A throwing `consistentHash`** (or a key whose conversion to a string throws) fails that
 * message only: it becomes a `failed` dead letter carrying the error, addressed to the router,
 * and is counted (`keyErrors` in `system.tree()` details). The router keeps its pool, and the
 * workers keep what is queued for them. A non-string key is converted with `String()`.
 * **A throwing `worker` factory** means the worker cannot be built: a failed start of that
 * worker (`ActorFailed`, phase `start`), which the pool answers like any failure — it restarts
 * the worker in place (its mailbox kept) within its intensity, and past it fails the router
 * (see Pool failure).
 * **Errors.** Throws on bad options before anything starts, naming each bad field (the pool's
 * intensity and mailbox included): the field's `TypeError`/`RangeError` for one, an
 * `InvalidOptionsError` listing them for several.
 *
 * @example
 * const decoders = system.spawn(router({ size: 4, worker: decoder, routing: 'roundRobin' }), { name: 'decoders' });
 * decoders.tell({ type: 'Decode', frame });
 */
export function router<M extends Message>(options: RouterOptions<M>): Behavior<M> {
  const owner = 'router';
  const checks = checkOptions(owner, options);
  const size = checks.run(() => checkInteger(owner, 'size', options.size, 1), 1);
  const worker = checks.run(() => checkFunction(owner, 'worker', options.worker), unbuilt);
  const routing = checks.run(() => checkRouting(owner, options.routing), 'roundRobin');
  const poolOptions = (workers: number) => ({
    strategy: 'oneForOne' as const,
    intensity: options.intensity ?? DEFAULT_ROUTER_INTENSITY,
    children: Array.from({ length: workers }, (_, i) => ({
      id: `worker-${i + 1}`,
      start: worker as unknown as () => Behavior<Message>,
      restart: 'permanent' as const,
      ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }),
    })),
  });
  // The pool's own checks (intensity, the workers' mailbox) are reported with the router's,
  // each once: checked on a pool of one worker, since every worker shares the same options.
  checks.run(() => supervisor(poolOptions(1)), null);
  checks.done();
  const pool = supervisor(poolOptions(size));
  const ring = typeof routing === 'object' ? new HashRing(size, VNODES) : null;

  const route = (state: State<M>, message: M, ctx: ActorContext<M>): State<M> => {
    const workers = state.workers as readonly ActorRef<M>[];
    if (routing === 'broadcast') {
      for (const w of workers) ctx.send(w, message);
    } else if (routing === 'roundRobin') {
      ctx.send(workers[state.next] as ActorRef<M>, message);
      state.next = (state.next + 1) % workers.length;
    } else {
      let node: number;
      try {
        node = (ring as HashRing).nodeFor(String(routing.consistentHash(message)));
      } catch (error) {
        // That message's failure, not the router's: failing would restart the pool and lose its queues.
        if (state.keyErrors++ === 0) {
          ctx.log.warn({ err: error }, 'router: consistentHash threw; the message is a failed dead letter');
        }
        deadLetterFailed(ctx, message, ctx.self.path, error);
        return state;
      }
      ctx.send(workers[node] as ActorRef<M>, message);
    }
    state.routed++;
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
        return { pool: ref, workers: null, ready, next: 0, routed: 0, keyErrors: 0 };
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
        keyErrors: state?.keyErrors ?? 0,
      }),
    },
  );
}

/** Stands for a bad `worker` option while the other options are checked (never started). */
function unbuilt(): never {
  throw new TypeError('router: worker must be a function');
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
