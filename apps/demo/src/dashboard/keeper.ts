/**
 * The top of the demo's tree: what happens when the app's own supervisor gives up.
 *
 * A supervisor that exceeds its restart intensity stops its children and fails itself,
 * escalating to its parent. Under the `/user` guardian that is the end of it (the system only
 * reports it), and a page that sends a few hundred crash requests would leave the demo with no
 * app. The keeper is the demo's policy for that escalation: it starts the app's supervisor as a
 * top-level actor, watches it, and when it stops abnormally starts it again after a backoff that
 * doubles each time (1 s, 2 s, 4 s … up to 30 s) and resets once the app has run for a minute.
 * Meanwhile {@link Keeper.health} says `restarting`, so the page and the API can say so (503).
 *
 * A normal stop (system shutdown) is not restarted.
 */
import { type ActorRef, type ActorSystem, type Behavior, receive, type Terminated } from '@troupe/runtime';

/** Backoff between restarts of the app, in ms. */
export const KEEPER_BACKOFF = { minMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 } as const;

export interface KeeperOptions<M extends { type: string }> {
  /** The kept actor's name under `/user`. */
  readonly name: string;
  /** Its behaviour, built afresh at each start. */
  readonly behavior: () => Behavior<M>;
  /** Terminal lines. */
  readonly print: (line: string) => void;
}

/** Whether the kept app is up, and how often its top supervisor gave up (escalated). */
export interface KeeperHealth {
  /** `restarting`: its supervisor gave up; the keeper starts it again after `restartInMs`. */
  readonly state: 'running' | 'restarting';
  /** How many times it gave up since the demo started. */
  readonly escalations: number;
  /** The last escalation's error message. */
  readonly lastError?: string;
  /** While restarting: the backoff delay chosen, in ms. */
  readonly restartInMs?: number;
}

export interface Keeper {
  health(): KeeperHealth;
}

type KeeperMessage = { readonly type: 'Restart' };

/** Starts `options.behavior` as `/user/<name>` now, and a `/user/keeper` that keeps it running. */
export function keeper<M extends { type: string }>(system: ActorSystem, options: KeeperOptions<M>): Keeper {
  let health: KeeperHealth = { state: 'running', escalations: 0 };
  let attempt = 0;
  let startedAt = system.clock.now();
  const first: ActorRef<M> = system.spawn(options.behavior(), { name: options.name });

  const behavior = receive<null, KeeperMessage>(
    null,
    (state, _message, ctx) => {
      try {
        ctx.watch(system.spawn(options.behavior(), { name: options.name }));
        startedAt = ctx.clock.now();
        health = {
          state: 'running',
          escalations: health.escalations,
          ...(health.lastError === undefined ? {} : { lastError: health.lastError }),
        };
        options.print(`[keeper] ${options.name} started again`);
      } catch (error) {
        // The name is still taken (the old one is not gone yet) or the system is stopping: try later.
        ctx.log.warn({ err: error }, 'keeper: could not start the app yet');
        ctx.timers.startSingle('restart', { type: 'Restart' }, KEEPER_BACKOFF.minMs);
      }
      return state;
    },
    {
      onStart: (ctx) => {
        ctx.watch(first);
        return null;
      },
      onTerminated: (state, signal: Terminated, ctx) => {
        if (signal.reason.type !== 'error') return state;
        if (ctx.clock.now() - startedAt >= KEEPER_BACKOFF.resetAfterMs) attempt = 0;
        const delay = Math.min(KEEPER_BACKOFF.maxMs, KEEPER_BACKOFF.minMs * 2 ** attempt);
        attempt++;
        const error = signal.reason.error;
        const lastError = error instanceof Error ? error.message : String(error);
        health = { state: 'restarting', escalations: health.escalations + 1, lastError, restartInMs: delay };
        options.print(`[keeper] ${lastError}; starting ${options.name} again in ${delay / 1000} s`);
        ctx.log.error({ err: error, delayMs: delay, escalations: health.escalations }, 'app gave up');
        ctx.timers.startSingle('restart', { type: 'Restart' }, delay);
        return state;
      },
    },
  );
  system.spawn(behavior, { name: 'keeper' });
  return { health: () => health };
}
