/**
 * The Troupe demo: `pnpm demo [dashboard|pipeline] [options]` (see `cli.ts` for the options).
 */
import { ActorSystem } from '@troupe/runtime';
import { type DemoArgs, parseDemoArgs, USAGE, UsageError } from './cli.js';
import { runClusterScenario } from './cluster/run.js';
import { startDashboard } from './dashboard/app.js';
import { seededRandom } from './dashboard/events.js';
import { countDeadLetters } from './dead-letter-summary.js';
import { reportLine, startPipeline } from './pipeline/app.js';
import { terminalLogger } from './terminal-log.js';
import { startWebServer } from './web/server.js';

export interface DemoIo {
  readonly print: (line: string) => void;
  readonly printError: (line: string) => void;
}

/** A running scenario: what to gather and close before shutdown, and what to print after. */
interface Running {
  /** Before shutdown: stop side activity, gather what needs live actors. */
  beforeShutdown(): Promise<void>;
  /** After shutdown: the final summary. */
  summary(): string[];
}

/**
 * Runs the demo until `stop` resolves (Ctrl-C, or `--duration`), then shuts down gracefully and
 * prints a final summary. Returns the process exit code (2 for a bad command line).
 */
export async function runDemo(
  argv: readonly string[],
  io: DemoIo,
  stop: (args: DemoArgs) => Promise<void>,
): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.printError(`troupe demo: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.print(USAGE);
    return 0;
  }
  if (args.scenario === 'cluster') return runClusterScenario(args, io, stop);
  const system = ActorSystem.start({
    name: 'troupe-demo',
    logger: terminalLogger('troupe', args.logLevel, io.print),
  });
  const deadLetters = countDeadLetters(system);
  const running =
    args.scenario === 'dashboard'
      ? await dashboardScenario(system, args, io)
      : pipelineScenario(system, args, io);
  await stop(args);
  io.print('\nshutting down: actors drain their mailboxes…');
  await running.beforeShutdown();
  await system.shutdown({ timeoutMs: 5000 });
  io.print('=== final summary ===');
  for (const line of running.summary()) io.print(line);
  for (const line of deadLetters.lines()) io.print(line);
  return 0;
}

async function dashboardScenario(system: ActorSystem, args: DemoArgs, io: DemoIo): Promise<Running> {
  const app = startDashboard(system, {
    print: io.print,
    metricLog: terminalLogger('logger', args.logLevel, io.print),
    seed: args.seed,
  });
  const web = args.web
    ? await startWebServer({ system, app, port: args.port }).catch(webUnavailable(io, args))
    : undefined;
  if (web !== undefined)
    io.print(`[web] live dashboard at ${web.url} (supervision tree, mailboxes, crash buttons)`);
  const random = seededRandom(args.seed + 99);
  const chaos = args.chaos
    ? setInterval(() => {
        const victim = app.workers[Math.floor(random() * app.workers.length)] as string;
        io.print(`[chaos] crashing ${victim}`);
        app.crash(victim);
      }, 2000)
    : undefined;
  const lines: string[] = [];
  return {
    async beforeShutdown() {
      if (chaos !== undefined) clearInterval(chaos);
      await web?.close();
      const stats = await app.topicStats();
      lines.push(`  metrics published: ${stats.published}`);
      for (const sub of stats.subscriptions) {
        lines.push(
          `  ${sub.subscriber}: delivered ${sub.delivered}, missed ${sub.missed} (onFull ${sub.onFull})`,
        );
      }
      const restarts = flatten(system.tree()).filter((n) => n.restarts > 0);
      const list = restarts.map((n) => `${n.path} ×${n.restarts}`).join(', ');
      lines.push(`  restarts: ${restarts.length === 0 ? 'none' : list}`);
    },
    summary: () => lines,
  };
}

function pipelineScenario(system: ActorSystem, _args: DemoArgs, io: DemoIo): Running {
  const app = startPipeline(system);
  let seconds = 0;
  const report = setInterval(() => io.print(reportLine(app, system, ++seconds)), 1000);
  return {
    async beforeShutdown() {
      clearInterval(report);
      // Stop making blocks and let the ones in flight reach every stage: then shutdown drops none.
      app.stopSource();
      for (let waited = 0; !app.drained() && waited < DRAIN_MS; waited += 10)
        await new Promise((resolve) => setTimeout(resolve, 10));
      if (!app.drained()) io.print(`  (the pipeline did not drain within ${DRAIN_MS} ms)`);
    },
    summary() {
      const s = app.stats;
      return [
        `  blocks produced: ${s.blocks} (the source waited for the pipeline ${s.sourceWaits} times)`,
        `  opportunities found: ${s.opportunities}, executed: ${s.executed} (queued ones drained on shutdown)`,
      ];
    },
  };
}

/** How long the pipeline may take to drain before shutdown, in ms. */
const DRAIN_MS = 5000;

/** The page is optional: if its port is taken, say so and carry on without it. */
function webUnavailable(io: DemoIo, args: DemoArgs) {
  return (error: unknown): undefined => {
    const code = (error as { code?: unknown }).code;
    io.printError(
      `[web] cannot serve the page on 127.0.0.1:${args.port} (${String(code ?? error)}); ` +
        'running without it — pick another port with --port <n>, or --port 0 for a free one',
    );
    return undefined;
  };
}

function flatten(node: ReturnType<ActorSystem['tree']>): ReturnType<ActorSystem['tree']>[] {
  return [node, ...node.children.flatMap(flatten)];
}

/**
 * The same Ctrl-C can reach us twice within a few ms: the terminal signals the whole process
 * group, and a runner in it (pnpm, when the script `exec`s node) forwards the signal as well.
 * A second signal within this window is that same Ctrl-C, not a second one.
 */
export const SAME_SIGNAL_MS = 500;

/**
 * What each termination signal means: the first `stop`s (graceful shutdown, then exit 0); one
 * within {@link SAME_SIGNAL_MS} of it is the `same` Ctrl-C (ignored); a later one means `exit`
 * at once (code 1). `now` is in ms.
 */
export function signalMeaning(): (now: number) => 'stop' | 'same' | 'exit' {
  let firstAt: number | undefined;
  return (now) => {
    if (firstAt === undefined) {
      firstAt = now;
      return 'stop';
    }
    return now - firstAt < SAME_SIGNAL_MS ? 'same' : 'exit';
  };
}

/** Resolves on Ctrl-C / SIGTERM or after `--duration`; a second Ctrl-C exits at once with code 1. */
function stopOnSignalOrDuration(args: DemoArgs): Promise<void> {
  return new Promise((resolve) => {
    const meaning = signalMeaning();
    const onSignal = () => {
      // Wall time on purpose: this is about a person pressing keys, not the actors' clock.
      const what = meaning(performance.now());
      if (what === 'stop') resolve();
      else if (what === 'exit') {
        process.stderr.write('second signal: exiting now, without draining\n');
        process.exit(1);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (args.durationS !== undefined) setTimeout(resolve, args.durationS * 1000);
  });
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const code = await runDemo(
    process.argv.slice(2),
    {
      print: (line) => process.stdout.write(`${line}\n`),
      printError: (line) => process.stderr.write(`${line}\n`),
    },
    stopOnSignalOrDuration,
  );
  process.exit(code);
}
