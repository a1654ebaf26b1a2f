/**
 * The benchmark harness: `pnpm bench [--only S1,S1b] [--runs 5] [--out cluster]`.
 *
 * Runs every selected scenario's systems (Troupe and its peers) `--runs` times each, one fresh
 * child process per (scenario, system, run), interleaving the systems run by run so drift on the
 * machine hits them alike. Prints progress on stderr, the tables on stdout, and writes
 * `bench/results.json` and `bench/RESULTS.md` (with `--out NAME`: `bench/results-NAME.json` and
 * `bench/RESULTS-NAME.md`, so a partial run does not overwrite the full report). A failing system is reported with its error and
 * skipped for the rest of its scenario; the other systems still run. Exit code 1 if any failed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChildReport } from './child.js';
import { describeMachine, formatValue, type Outcome, writeReport } from './report.js';
import type { Measurement, Scenario } from './scenario.js';
import { findScenario, scenarios } from './scenarios/index.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/** A child that runs longer than this (or its scenario's `timeoutMs`) is killed and its system reported as failed. */
const CHILD_TIMEOUT_MS = 60_000;

function outputFiles(name: string | undefined): { json: string; markdown: string } {
  if (name !== undefined && !/^[a-z0-9-]+$/.test(name))
    usageError(`--out must be lowercase letters, digits or -, got ${name}`);
  const suffix = name === undefined ? '' : `-${name}`;
  return {
    json: fileURLToPath(new URL(`./results${suffix}.json`, import.meta.url)),
    markdown: fileURLToPath(new URL(`./RESULTS${suffix.toUpperCase()}.md`, import.meta.url)),
  };
}

const USAGE = `usage: pnpm bench [--only <id>[,<id>…]] [--runs <n>] [--out <name>]
  --only   scenarios to run (default: all): ${scenarios.map((s) => s.id).join(', ')}
  --runs   runs per system, each in a fresh process (default: 5)
  --out    write results-<name>.json and RESULTS-<NAME>.md instead of the full report's files`;

function parseCli(argv: readonly string[]): {
  selected: readonly Scenario[];
  runs: number;
  output: { json: string; markdown: string };
} {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  let values: { only?: string; runs?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        only: { type: 'string' },
        runs: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs ?? '5');
  if (!Number.isInteger(runs) || runs < 1)
    return usageError(`--runs must be a positive integer, got ${values.runs}`);
  const output = outputFiles(values.out);
  if (values.only === undefined) return { selected: scenarios, runs, output };
  const selected = values.only.split(',').map((id) => {
    const scenario = findScenario(id.trim());
    if (scenario === undefined) return usageError(`unknown scenario ${id}`);
    return scenario;
  });
  return { selected, runs, output };
}

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** Runs one system of one scenario in a fresh process and returns what it reported. */
function runChild(scenario: string, system: string, timeoutMs: number): Promise<ChildReport> {
  const args = [
    '--expose-gc',
    '--import',
    TSX_LOADER,
    '--conditions=@troupe/source',
    CHILD,
    scenario,
    system,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => resolve({ ok: false, error: `could not start child: ${error.message}` }));
    child.on('close', (code, signal) => {
      // The report is the last line that parses as one: a system may log to stdout after it.
      const lines = stdout.trimEnd().split('\n');
      const report = lines.findLast((line) => parseReport(line) !== undefined);
      if (report !== undefined) return resolve(parseReport(report) as ChildReport);
      // 13: the child's top-level await never settled (the system's promise hung with nothing left to run).
      const hint = code === 13 ? ': the system never settled' : '';
      const why =
        signal === null
          ? `exit code ${code}${hint}`
          : `killed by ${signal}, likely the ${timeoutMs / 1000} s timeout`;
      resolve({
        ok: false,
        error: `child printed no report (${why})\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n')}`,
      });
    });
  });
}

function parseReport(line: string): ChildReport | undefined {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || !('ok' in data)) return undefined;
  if (data.ok === false && 'error' in data && typeof data.error === 'string')
    return { ok: false, error: data.error };
  if (data.ok !== true || !('measurements' in data) || !Array.isArray(data.measurements)) return undefined;
  const measurements: Measurement[] = [];
  for (const m of data.measurements as unknown[]) {
    if (
      typeof m !== 'object' ||
      m === null ||
      !('metric' in m) ||
      typeof m.metric !== 'string' ||
      !('unit' in m) ||
      typeof m.unit !== 'string' ||
      !('value' in m) ||
      typeof m.value !== 'number'
    ) {
      return undefined;
    }
    measurements.push({ metric: m.metric, unit: m.unit, value: m.value });
  }
  return measurements.length === 0 ? undefined : { ok: true, measurements };
}

async function main(): Promise<boolean> {
  const { selected, runs, output } = parseCli(process.argv.slice(2));
  const outcomes: Outcome[] = [];
  for (const scenario of selected) {
    const systems = Object.keys(scenario.systems).map((system) => ({
      system,
      samples: [] as Measurement[],
      error: undefined as string | undefined,
    }));
    for (let run = 1; run <= runs; run++) {
      for (const s of systems) {
        if (s.error !== undefined) continue;
        const report = await runChild(scenario.id, s.system, scenario.timeoutMs ?? CHILD_TIMEOUT_MS);
        const label = `${scenario.id} ${s.system.padEnd(8)} run ${run}/${runs}`;
        if (report.ok) {
          s.samples.push(...report.measurements);
          const figures = report.measurements.map((m) => `${formatValue(m.value)} ${m.unit}`);
          console.error(`${label}  ${figures.join(', ')}`);
        } else {
          s.error = report.error;
          console.error(`${label}  FAILED, skipping its remaining runs:\n${report.error}`);
        }
      }
    }
    for (const { system, samples, error } of systems) {
      outcomes.push(
        error === undefined ? { scenario, system, samples } : { scenario, system, samples, error },
      );
    }
  }
  const markdown = await writeReport(output, outcomes, describeMachine(), runs);
  console.log(markdown);
  console.error(`wrote ${output.json} and ${output.markdown}`);
  return outcomes.every((o) => o.error === undefined);
}

process.exitCode = (await main()) ? 0 : 1;
