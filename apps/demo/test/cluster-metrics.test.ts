import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../src/cluster/metrics.js';

const node = (name: string, value: number) => `# HELP troupe_executions_total Opportunities executed.
# TYPE troupe_executions_total counter
troupe_executions_total{node="${name}"} ${value}

# HELP nodejs_gc_duration_seconds GC time.
# TYPE nodejs_gc_duration_seconds histogram
nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor",node="${name}"} 1
nodejs_gc_duration_seconds_bucket{le="+Inf",kind="minor",node="${name}"} 2
nodejs_gc_duration_seconds_sum{kind="minor",node="${name}"} 0.01
nodejs_gc_duration_seconds_count{kind="minor",node="${name}"} 2
`;

describe('merging the nodes’ metrics into one exposition', () => {
  it('keeps each family once, with every node’s samples under it, histograms whole', () => {
    const merged = mergeExpositions([node('node-1', 3), node('node-2', 5)]);
    const lines = merged.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('# HELP troupe_executions_total'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('# TYPE nodejs_gc_duration_seconds histogram'))).toHaveLength(1);
    const family = (name: string) => {
      const at = lines.indexOf(lines.find((l) => l.startsWith(`# TYPE ${name} `)) as string);
      const out: string[] = [];
      for (let i = at + 1; i < lines.length && !(lines[i] as string).startsWith('#'); i++)
        out.push(lines[i] as string);
      return out;
    };
    expect(family('troupe_executions_total')).toEqual([
      'troupe_executions_total{node="node-1"} 3',
      'troupe_executions_total{node="node-2"} 5',
    ]);
    expect(family('nodejs_gc_duration_seconds')).toHaveLength(8);
    expect(merged.endsWith('\n')).toBe(true);
  });

  it('an empty or garbage exposition adds nothing and breaks nothing', () => {
    expect(mergeExpositions([])).toBe('\n');
    const merged = mergeExpositions(['', 'garbage without a family\n', node('node-1', 1)]);
    expect(merged).not.toContain('garbage');
    expect(merged).toContain('troupe_executions_total{node="node-1"} 1');
  });
});
