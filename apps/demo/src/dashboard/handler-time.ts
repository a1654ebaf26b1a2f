/**
 * How long each message's handler runs, measured by the demo around its own workers'
 * behaviours (the runtime does not time handlers).
 *
 * **What it measures.** Wall time from the handler being called until it returns (or, for an
 * async handler, until its promise settles), per message, in seconds. **Not included:** time
 * the message waited in the mailbox, and a delay the handler asked for with `ctx.pause(ms)`
 * (the runtime waits that out after the handler returned). So "make slow" shows in the
 * mailbox depth, not here.
 */
import type { Behavior, Message } from '@troupe/runtime';

type Instance<M extends Message> = ReturnType<Behavior<M>['start']>;

/** Called once per handled message with the actor's path and the handler's wall time in seconds. */
export type HandlerTimeListener = (path: string, seconds: number) => void;

/** `behavior`, reporting each message's handler time to `observe`. Everything else is delegated as is. */
export function timed<M extends Message>(behavior: Behavior<M>, observe: HandlerTimeListener): Behavior<M> {
  return {
    start(ctx, lifecycle) {
      const inner: Instance<M> = behavior.start(ctx, lifecycle);
      const path = ctx.self.path;
      const instance: Instance<M> = {
        handle(message) {
          // A measurement, not scheduling: wall time, whatever clock the system runs on.
          const began = performance.now();
          const done = () => observe(path, (performance.now() - began) / 1000);
          let result: ReturnType<Instance<M>['handle']>;
          try {
            result = inner.handle(message);
          } catch (error) {
            done();
            throw error;
          }
          if (result instanceof Promise) return result.finally(done);
          done();
          return result;
        },
        terminated: (signal) => inner.terminated(signal),
        stop: (reason, restarting) => inner.stop(reason, restarting),
      };
      if (inner.supervise !== undefined) instance.supervise = inner.supervise.bind(inner);
      if (inner.afterStart !== undefined) instance.afterStart = inner.afterStart.bind(inner);
      if (inner.describe !== undefined) instance.describe = inner.describe.bind(inner);
      return instance;
    },
  };
}
