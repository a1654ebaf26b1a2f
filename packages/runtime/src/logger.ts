import { type Logger as PinoLogger, pino } from 'pino';

/**
 * The pino logger surface the runtime uses. Pass any pino logger (or a child of one) as
 * `ActorSystem.start({ logger })`; each actor logs through a child bound to `{ actor: path }`.
 *
 * What Troupe logs, by level: `error` an actor failed or failed to start, a supervisor
 * escalated, a callback the runtime called (hook, listener, clock, ids) threw; `warn` an actor
 * was restarted, a topic filter threw, a window skipped input; `info` a shutdown signal was
 * received; `debug` system shutdown steps and circuit-breaker transitions.
 */
export type Logger = Pick<
  PinoLogger,
  'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child' | 'level'
>;

/** The level the default logger uses when `TROUPE_LOG_LEVEL` is unset. */
export const DEFAULT_LOG_LEVEL = 'warn';

/**
 * The default system logger, as a library's logger should be: JSON lines on **stderr** (never
 * in the program's stdout), at level `TROUPE_LOG_LEVEL` (default `warn`: warnings and errors
 * only), and `silent` under a test runner (`VITEST` or `NODE_ENV=test`) unless
 * `TROUPE_LOG_LEVEL` says otherwise. An unknown `TROUPE_LOG_LEVEL` falls back to `warn` and
 * says so once, instead of failing `ActorSystem.start`. Pass your own pino logger for anything
 * else (pretty printing, a file, a level per system).
 */
export function defaultLogger(name: string): Logger {
  const testing = process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
  const asked = process.env.TROUPE_LOG_LEVEL;
  const known = asked === undefined || asked === 'silent' || asked in pino.levels.values;
  const level = asked !== undefined && known ? asked : testing ? 'silent' : DEFAULT_LOG_LEVEL;
  const logger = pino({ name, level }, pino.destination({ fd: 2, sync: true }));
  if (!known) logger.warn({ TROUPE_LOG_LEVEL: asked }, `unknown log level; using ${level}`);
  return logger;
}
