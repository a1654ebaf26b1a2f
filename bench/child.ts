/**
 * Runs one system of one scenario in this (fresh) process and prints one JSON line on stdout:
 * `{ "ok": true, "metric", "unit", "value" }` or `{ "ok": false, "error" }` (exit code 1).
 *
 *   node --expose-gc --import tsx --conditions=@troupe/source bench/child.ts S1 troupe
 *
 * It first runs the workload WARMUP_RUNS times (discarded) so the measured run sees optimised,
 * steady-state code for every system alike (one warm-up left Troupe's S1 ~15% below its steady
 * state), then collects garbage (when `--expose-gc` is given) so the warm-up's heap is not billed
 * to the run.
 */
import type { Measurement } from './scenario.js';
import { findScenario } from './scenarios/index.js';

/** The line a child prints: what the parent (`run.ts`) parses. */
export type ChildReport =
  | ({ readonly ok: true } & Measurement)
  | { readonly ok: false; readonly error: string };

const WARMUP_RUNS = 3;

async function main(scenarioId: string, systemName: string): Promise<ChildReport> {
  const scenario = findScenario(scenarioId);
  if (scenario === undefined) return { ok: false, error: `unknown scenario ${scenarioId}` };
  const system = scenario.systems[systemName];
  if (system === undefined) return { ok: false, error: `${scenario.id} has no system ${systemName}` };
  try {
    for (let i = 0; i < WARMUP_RUNS; i++) await system(scenario.warmupSize);
    globalThis.gc?.();
    return { ok: true, ...(await system(scenario.size)) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

const report = await main(process.argv[2] ?? '', process.argv[3] ?? '');
process.stdout.write(`${JSON.stringify(report)}\n`);
// Exit explicitly: a handle leaked by the system under test must not keep the child alive.
process.exit(report.ok ? 0 : 1);
