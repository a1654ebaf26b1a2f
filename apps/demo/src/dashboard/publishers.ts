import type { TopicMessage } from '@troupe/actors';
import { type ActorRef, type Behavior, receive } from '@troupe/runtime';
import { type Control, type MetricEvent, seededRandom } from './events.js';

type PublisherMessage = { readonly type: 'Tick' } | Control;

export interface PublisherOptions {
  readonly metrics: ActorRef<TopicMessage<MetricEvent>>;
  /** How often it publishes, in ms. */
  readonly intervalMs: number;
  readonly seed: number;
}

const PATHS = ['/api/data', '/api/users', '/api/orders', '/health'];
const QUERIES = ['SELECT *', 'SELECT id FROM users', 'UPDATE orders SET status = ?', 'INSERT INTO events'];

/** The web server publisher: a request every `intervalMs`, ~3% of them failing. */
export function webServer(
  options: PublisherOptions & { readonly errorRate: number },
): Behavior<PublisherMessage> {
  return publisher(options, (random) => {
    if (random() < options.errorRate)
      return { type: 'Error', message: random() < 0.5 ? 'timeout' : 'connection reset' };
    return {
      type: 'Request',
      path: PATHS[Math.floor(random() * PATHS.length)] as string,
      latencyMs: 20 + Math.round(random() * 130),
    };
  });
}

/** The DB service publisher: a query every `intervalMs`. */
export function database(options: PublisherOptions): Behavior<PublisherMessage> {
  return publisher(options, (random) => ({
    type: 'DbQuery',
    query: QUERIES[Math.floor(random() * QUERIES.length)] as string,
    durationMs: 2 + Math.round(random() * 28),
  }));
}

function publisher(
  options: PublisherOptions,
  next: (random: () => number) => MetricEvent,
): Behavior<PublisherMessage> {
  return receive<{ random: () => number; delayMs: number }, PublisherMessage>(
    { random: Math.random, delayMs: 0 },
    (state, message, ctx) => {
      switch (message.type) {
        case 'Tick':
          options.metrics.tell(next(state.random));
          return state;
        case 'Crash':
          throw new Error(`crash requested for ${ctx.self.path}`);
        case 'SetDelay':
          return { ...state, delayMs: message.ms };
        default:
          return message satisfies never;
      }
    },
    {
      onStart: (ctx) => {
        ctx.timers.startPeriodic('tick', { type: 'Tick' }, options.intervalMs);
        return { random: seededRandom(options.seed), delayMs: 0 };
      },
    },
  );
}
