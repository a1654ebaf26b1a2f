import { parseArgs } from 'node:util';

export const USAGE = `Troupe demo — supervised actors, a pub-sub topic and backpressure, live.

Usage: pnpm demo [dashboard|pipeline|cluster] [options]

Scenarios:
  dashboard            (default) a live metrics dashboard: two publishers (a simulated web server
                       and database) -> a metrics topic -> three subscribers (dashboard, logger,
                       alerter), each under a supervisor. A web page shows it live: crash an
                       actor and watch its supervisor restart it, flood the topic, slow a
                       subscriber down and watch it lag
  pipeline             an event pipeline with backpressure: block source -> bus topic -> decoder,
                       price oracle, state updater and detector -> a slow, bounded executor; the
                       source slows down to the executor's pace and nothing found is dropped
  cluster              the pipeline across node processes joined as one cluster on NATS:
                       block source and bus topic on one node; decoder and price oracle on
                       another; detector, a bounded execution engine and an event-sourced ledger
                       (SQLite) on a third. A launcher restarts a node process that dies; kill one
                       from the page and watch its ledger recover with nothing lost. Needs
                       nats-server (apt-get install nats-server), or --nats <url>

Options:
  --duration <s>       stop after this many seconds (default: run until Ctrl-C)
  --no-web             do not serve the web page
  --port <n>           web page port on 127.0.0.1 (default 8080; 0 picks a free port)
  --chaos              crash a random actor every 2 s (watch the supervisors restart them)
  --log-level <level>  trace | debug | info | warn | error | fatal | silent (default info)
  --seed <n>           random seed of the simulated traffic: same seed, same traffic (default 1)
  --nodes <n>          cluster: node processes (default: one per core, at least 2)
  --nats <url>         cluster: use this NATS server (JetStream enabled) instead of starting one
  --data <dir>         cluster: where nodes keep their SQLite files (default: a temp dir, removed at the end)
  --otlp <url>         cluster: also export traces over OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/traces
  -h, --help           show this help

Ctrl-C stops gracefully: actors drain their mailboxes, then a final summary is printed.`;

export interface DemoArgs {
  readonly scenario: 'dashboard' | 'pipeline' | 'cluster';
  readonly durationS: number | undefined;
  readonly web: boolean;
  readonly port: number;
  readonly chaos: boolean;
  readonly logLevel: string;
  readonly seed: number;
  readonly nodes: number | undefined;
  readonly nats: string | undefined;
  readonly data: string | undefined;
  readonly otlp: string | undefined;
  readonly help: boolean;
}

/** A bad command line: the message says what is wrong; the process exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Parses and validates the command line. Throws {@link UsageError} on anything bad. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  // `pnpm demo -- --duration 1` hands the script a leading `--` (pnpm passes it through).
  if (argv[0] === '--') argv = argv.slice(1);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1)
    throw new UsageError(`expected at most one scenario, got: ${positionals.join(' ')}`);
  const scenario = positionals[0] ?? 'dashboard';
  if (scenario !== 'dashboard' && scenario !== 'pipeline' && scenario !== 'cluster') {
    throw new UsageError(`unknown scenario "${scenario}" (expected dashboard, pipeline or cluster)`);
  }
  const number = (name: string, raw: string | undefined, min: number, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const port = number('port', values.port, 0, 65535) ?? 8080;
  if (!Number.isInteger(port)) throw new UsageError(`--port must be an integer, got "${values.port}"`);
  const logLevel = values['log-level'] ?? 'info';
  if (!LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${logLevel}"`);
  return {
    scenario,
    durationS: number('duration', values.duration, 0.1, 86_400),
    web: values['no-web'] !== true,
    port,
    chaos: values.chaos === true,
    logLevel,
    seed: number('seed', values.seed, 0, 2 ** 31) ?? 1,
    nodes: integer('nodes', number('nodes', values.nodes, 1, 16)),
    nats: url('nats', values.nats, ['nats:', 'tls:', 'ws:', 'wss:']),
    data: values.data,
    otlp: url('otlp', values.otlp, ['http:', 'https:']),
    help: values.help === true,
  };
}

function integer(name: string, n: number | undefined): number | undefined {
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${n}`);
  return n;
}

function url(name: string, raw: string | undefined, protocols: readonly string[]): string | undefined {
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--${name} must be a URL (${protocols.join(' or ')}), got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol))
    throw new UsageError(`--${name} must be a ${protocols.join(' or ')} URL, got "${raw}"`);
  return raw;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      duration: { type: 'string' },
      'no-web': { type: 'boolean' },
      port: { type: 'string' },
      chaos: { type: 'boolean' },
      'log-level': { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      nats: { type: 'string' },
      data: { type: 'string' },
      otlp: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
