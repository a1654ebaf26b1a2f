/** Summary statistics of one system's samples in one scenario. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Median, min and max of `samples`. The median of an even count is the mean of the two middle
 * values. Throws on an empty list: a system with no sample has no summary.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? at(sorted, mid) : (at(sorted, mid - 1) + at(sorted, mid)) / 2;
  return { median, min: at(sorted, 0), max: at(sorted, sorted.length - 1) };
}

function at(sorted: readonly number[], i: number): number {
  const v = sorted[i];
  if (v === undefined) throw new RangeError(`summarize: index ${i} out of range`);
  return v;
}
