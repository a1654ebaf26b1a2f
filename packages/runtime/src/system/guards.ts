/**
 * Checks and guards for what a user hands to `ActorSystem.start`: the logger, the clock and the
 * id generator are called from deep inside the runtime, where a throw must never stop the
 * dispatcher. Each is validated up front (naming the bad field) and wrapped where a runtime
 * failure has a safe outcome.
 */
import { nanoid } from 'nanoid';
import type { IdGenerator } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../time/clock.js';

const LOG_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Throws `TypeError` naming the field unless `logger` has the pino methods the runtime calls. */
export function validateLogger(logger: unknown): Logger {
  if (logger === null || typeof logger !== 'object') {
    throw new TypeError(
      `ActorSystem.start: logger must be a pino logger; got ${logger === null ? 'null' : typeof logger}`,
    );
  }
  for (const method of [...LOG_METHODS, 'child'] as const) {
    if (typeof (logger as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`ActorSystem.start: logger.${method} must be a function (pass a pino logger)`);
    }
  }
  return logger as Logger;
}

/**
 * A logger that never throws: a line the user's logger fails to write is lost (there is nowhere
 * safe to report it), and nothing else is affected. Children are guarded too.
 */
export function guardLogger(logger: Logger): Logger {
  const call =
    (method: (typeof LOG_METHODS)[number]) =>
    (...args: unknown[]): void => {
      try {
        (logger[method] as (...a: unknown[]) => void).apply(logger, args);
      } catch {
        // the user's logger is broken: drop the line rather than fail the caller
      }
    };
  const guarded = {
    trace: call('trace'),
    debug: call('debug'),
    info: call('info'),
    warn: call('warn'),
    error: call('error'),
    fatal: call('fatal'),
    child(bindings: Record<string, unknown>, options?: unknown): Logger {
      try {
        return guardLogger((logger.child as (b: unknown, o?: unknown) => Logger)(bindings, options));
      } catch {
        return guarded as unknown as Logger;
      }
    },
    get level(): string {
      try {
        return logger.level;
      } catch {
        return 'silent';
      }
    },
    set level(value: string) {
      try {
        logger.level = value;
      } catch {
        // ignore
      }
    },
  };
  return guarded as unknown as Logger;
}

/** Throws `TypeError` naming the field unless `clock` has `now`, `setTimeout` and `clearTimeout`. */
export function validateClock(clock: unknown): Clock {
  if (clock === null || typeof clock !== 'object') {
    throw new TypeError(
      `ActorSystem.start: clock must be a Clock object; got ${clock === null ? 'null' : typeof clock}`,
    );
  }
  for (const method of ['now', 'setTimeout', 'clearTimeout'] as const) {
    if (typeof (clock as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`ActorSystem.start: clock.${method} must be a function`);
    }
  }
  return clock as Clock;
}

/** Throws `TypeError` unless `ids` is a function. */
export function validateIds(ids: unknown): IdGenerator {
  if (typeof ids !== 'function')
    throw new TypeError(`ActorSystem.start: ids must be a function; got ${typeof ids}`);
  return ids as IdGenerator;
}

/**
 * Ids that never fail: when the user's generator throws or returns something that is not a
 * non-empty string, the actor gets a nanoid instead and the problem is logged (once).
 */
export function guardIds(ids: IdGenerator, log: Logger): IdGenerator {
  let reported = false;
  return () => {
    let id: unknown;
    let error: unknown;
    try {
      id = ids();
    } catch (e) {
      error = e;
    }
    if (typeof id === 'string' && id !== '') return id;
    if (!reported) {
      reported = true;
      log.error({ err: error, got: typeof id }, 'ids() failed: using nanoid ids instead');
    }
    return `$${nanoid()}`;
  };
}
