/**
 * What a benchmark scenario is, and the timing helper every system uses.
 *
 * A scenario runs the same workload on Troupe and on its peers. The harness runs each system in
 * a fresh child process (see `child.ts`), so one system's JIT state, heap and loaded modules never
 * affect another's figures.
 *
 * @module
 */

/** One figure measured by one run of one system. */
export interface Measurement {
  /** What is measured, e.g. `'throughput'`. Same for every system of a scenario. */
  readonly metric: string;
  /** Unit of `value`, e.g. `'msgs/s'`. */
  readonly unit: string;
  readonly value: number;
}

/** Which way a figure improves. */
export type Better = 'higher' | 'lower';

/**
 * Runs the scenario's workload once at the given size and returns its figure — or several
 * figures measured by the same run (e.g. throughput and p99 latency), one per metric. It must
 * check its own outcome (every message counted, in order, …) and throw if it is wrong: a fast
 * wrong answer is not a result.
 */
export type System = (size: number) => Promise<Measurement | readonly Measurement[]>;

export interface Scenario {
  /** Short id used by `--only` and in the results, e.g. `'S1'`. */
  readonly id: string;
  readonly title: string;
  /** Size of a measured run; the scenario's title says what it counts. */
  readonly size: number;
  /**
   * Size of the warm-up run each child performs first and discards. For runs of tens of
   * milliseconds, a warm-up as large as the measured run gave visibly steadier figures.
   */
  readonly warmupSize: number;
  /**
   * Whether a higher or a lower figure is better (for reading the troupe/peer ratio): one
   * direction for every metric, or one per metric name when a run measures several.
   */
  readonly better: Better | Readonly<Record<string, Better>>;
  /** How long one child (warm-ups and the measured run) may take; default 60 s. */
  readonly timeoutMs?: number;
  /** Caveats printed under the scenario's table in RESULTS.md. */
  readonly notes: readonly string[];
  /** `troupe` first, then the peers, in the order they appear in the report. */
  readonly systems: { readonly troupe: System } & Readonly<Record<string, System>>;
}

/** The direction of `metric` in `scenario` (`'higher'` for a metric the scenario does not list). */
export function betterFor(scenario: Scenario, metric: string): Better {
  return typeof scenario.better === 'string' ? scenario.better : (scenario.better[metric] ?? 'higher');
}

/**
 * Runs `work` and returns its result with the elapsed wall-clock seconds, measured with
 * `process.hrtime.bigint()`. Keep setup that is not part of the workload outside `work`, and
 * check the result after it returns.
 */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const result = await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { result, seconds };
}
