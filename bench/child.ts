/**
 * Runs one system of one scenario in this (fresh) process and prints one JSON line on stdout:
 * `{ "ok": true, "measurements": [{ "metric", "unit", "value" }, …] }` (one per metric the run
 * measured) or `{ "ok": false, "error" }` (exit code 1).
 *
 *   node --expose-gc --import tsx --conditions=@troupe/source bench/child.ts S1 troupe
 *
 * It first runs the workload WARMUP_RUNS times (discarded) so the measured run sees optimised,
 * steady-state code for every system alike (one warm-up left Troupe's S1 ~15% below its steady
 * state). It does not force a collection before the measured run: a full GC discards type
 * feedback and deoptimises code, so short runs would measure re-warming (S4 lost ~30% that
 * way, for every system). Scenarios that measure memory collect garbage themselves.
 */
import type { Measurement } from './scenario.js';
import { findScenario } from './scenarios/index.js';

/** The line a child prints: what the parent (`run.ts`) parses. */
export type ChildReport =
  | { readonly ok: true; readonly measurements: readonly Measurement[] }
  | { readonly ok: false; readonly error: string };

const WARMUP_RUNS = 3;

// Troupe's default logger is pino on stdout at `info` (system start/stop lines): keep warnings and
// errors only, unless the caller chose a level.
process.env.TROUPE_LOG_LEVEL ??= 'warn';

async function main(scenarioId: string, systemName: string): Promise<ChildReport> {
  const scenario = findScenario(scenarioId);
  if (scenario === undefined) return { ok: false, error: `unknown scenario ${scenarioId}` };
  const system = scenario.systems[systemName];
  if (system === undefined) return { ok: false, error: `${scenario.id} has no system ${systemName}` };
  try {
    for (let i = 0; i < WARMUP_RUNS; i++) await system(scenario.warmupSize);
    const measured = await system(scenario.size);
    return { ok: true, measurements: 'metric' in measured ? [measured] : measured };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

const report = await main(process.argv[2] ?? '', process.argv[3] ?? '');
process.stdout.write(`${JSON.stringify(report)}\n`);
// Exit explicitly: a handle leaked by the system under test must not keep the child alive.
process.exit(report.ok ? 0 : 1);
