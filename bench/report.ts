/**
 * Writes the results of a harness run: `results.json` (machine-readable, one row per scenario,
 * system and metric) and `RESULTS.md` (a table per scenario with the troupe/peer ratio).
 */
import { writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { betterFor, type Measurement, type Scenario } from './scenario.js';
import { type Summary, summarize } from './stats.js';

/** Every sample one system produced in one scenario, or why it produced none (or stopped). */
export interface Outcome {
  readonly scenario: Scenario;
  readonly system: string;
  readonly samples: readonly Measurement[];
  readonly error?: string;
}

/** One row of `results.json`. */
export interface ResultRow extends Summary {
  readonly scenario: string;
  readonly system: string;
  readonly metric: string;
  readonly unit: string;
}

export interface Machine {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly os: string;
  readonly memoryGiB: number;
  readonly date: string;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    node: process.version,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    os: `${platform()} ${release()} ${process.arch}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
  };
}

/** One row per (scenario, system, metric) that has at least one sample. */
export function toRows(outcomes: readonly Outcome[]): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const { scenario, system, samples } of outcomes) {
    const metrics = new Map<string, Measurement[]>();
    for (const m of samples) {
      const key = `${m.metric}\u0000${m.unit}`;
      const list = metrics.get(key) ?? [];
      list.push(m);
      metrics.set(key, list);
    }
    for (const list of metrics.values()) {
      const first = list[0];
      if (first === undefined) continue;
      const summary = summarize(list.map((m) => m.value));
      rows.push({ scenario: scenario.id, system, metric: first.metric, unit: first.unit, ...summary });
    }
  }
  return rows;
}

export async function writeReport(
  paths: { readonly json: string; readonly markdown: string },
  outcomes: readonly Outcome[],
  machine: Machine,
  runs: number,
): Promise<string> {
  const rows = toRows(outcomes);
  const markdown = renderMarkdown(outcomes, rows, machine, runs);
  await writeFile(paths.json, `${JSON.stringify(rows, null, 2)}\n`);
  await writeFile(paths.markdown, markdown);
  return markdown;
}

function renderMarkdown(
  outcomes: readonly Outcome[],
  rows: readonly ResultRow[],
  m: Machine,
  runs: number,
): string {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`pnpm bench\`. Each system of each scenario ran ${runs} time${runs === 1 ? '' : 's'}, every run in a`,
    'fresh Node process, after a discarded warm-up run in that process. Peers and Troupe ran in the same',
    'session, interleaved run by run. Figures: median, min and max over the runs.',
    'Ratio = troupe median / peer median: above 1 means Troupe is ahead when higher is better.',
    '',
    ...table(
      ['machine', ''],
      [
        ['node', m.node],
        ['cpu', m.cpu],
        ['cores', String(m.cores)],
        ['os', m.os],
        ['memory', `${m.memoryGiB} GiB`],
        ['date', m.date],
      ],
    ),
  ];
  const scenarios = [...new Set(outcomes.map((o) => o.scenario))];
  for (const scenario of scenarios) {
    lines.push('', `## ${scenario.id} — ${scenario.title}`, '');
    const mine = rows.filter((r) => r.scenario === scenario.id);
    const troupe = mine.filter((r) => r.system === 'troupe');
    if (mine.length > 0) {
      const body = mine.map((r) => {
        const base = troupe.find((t) => t.metric === r.metric && t.unit === r.unit);
        const ratio =
          r.system === 'troupe' || base === undefined ? '—' : `${(base.median / r.median).toFixed(2)}×`;
        const figures = [r.median, r.min, r.max].map((v) => `${formatValue(v)} ${r.unit}`);
        return [r.system, r.metric, ...figures, ratio];
      });
      lines.push(...table(['system', 'metric', 'median', 'min', 'max', 'troupe / system'], body, 2));
      const sizes = `size ${formatValue(scenario.size)}, warm-up ${formatValue(scenario.warmupSize)}`;
      lines.push('', `${direction(scenario, mine)} (${sizes}).`);
    }
    const failed = outcomes.filter((o) => o.scenario === scenario && o.error !== undefined);
    for (const o of failed) {
      const runsDone = o.samples.length / Math.max(1, new Set(o.samples.map((m) => m.metric)).size);
      const done = runsDone === 0 ? 'no figure' : `stopped after ${runsDone} run(s)`;
      lines.push('', `**${o.system} failed** (${done}):`, '', '```', (o.error ?? '').trim(), '```');
    }
    if (scenario.notes.length > 0) lines.push('', ...scenario.notes.map((n) => `- ${n}`));
  }
  return `${lines.join('\n')}\n`;
}

/** `Higher is better`, or per metric when they differ: `Higher is better for a; lower is better for b`. */
function direction(scenario: Scenario, rows: readonly ResultRow[]): string {
  const word = (metric: string) => (betterFor(scenario, metric) === 'higher' ? 'Higher' : 'Lower');
  const metrics = [...new Set(rows.map((r) => r.metric))];
  if (new Set(metrics.map(word)).size <= 1) return `${word(metrics[0] ?? '')} is better`;
  return metrics.map((m, i) => `${i === 0 ? word(m) : word(m).toLowerCase()} is better for ${m}`).join('; ');
}

/**
 * A markdown table with padded columns (the layout `biome format` gives), so the generated file
 * passes `biome check`. Columns from `rightFrom` on are right-aligned.
 */
function table(
  header: readonly string[],
  body: readonly (readonly string[])[],
  rightFrom = header.length,
): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (i >= rightFrom ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i >= rightFrom ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...body.map(line)];
}

/** Thousands separators for large figures, three significant digits for small ones. */
export function formatValue(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}
