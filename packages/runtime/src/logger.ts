import { type Logger as PinoLogger, pino } from 'pino';

/**
 * The pino logger surface the runtime uses. Pass any pino logger (or a child of one) as
 * `ActorSystem.start({ logger })`; each actor logs through a child bound to `{ actor: path }`.
 */
export type Logger = Pick<
  PinoLogger,
  'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child' | 'level'
>;

/**
 * The default system logger: pino at level `TROUPE_LOG_LEVEL` (default `info`), and `silent`
 * under a test runner (`VITEST` or `NODE_ENV=test`) unless `TROUPE_LOG_LEVEL` says otherwise.
 */
export function defaultLogger(name: string): Logger {
  const testing = process.env.VITEST !== undefined || process.env.NODE_ENV === 'test';
  const level = process.env.TROUPE_LOG_LEVEL ?? (testing ? 'silent' : 'info');
  return pino({ name, level });
}
