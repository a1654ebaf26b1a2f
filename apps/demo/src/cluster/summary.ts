/** The cluster demo's terminal output: one line per node every second, the final accounting. */
import type { NodeView } from './launcher.js';
import type { NodeState } from './node-state.js';

const deadLetterText = (byReason: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(byReason).map(([reason, n]) => `${reason} ${n}`);
  return parts.length === 0 ? '0' : parts.join(', ');
};

/** `[node-2 up, start 1] published blocks 0 priced 120 | delivered … | lagged … | dead letters … | executed … | ledger …` */
export function nodeLine(view: NodeView): string {
  const head = `[${view.name} ${view.status}, pid ${view.pid ?? '-'}, start ${view.starts}]`;
  const s = view.state;
  if (s === undefined) return `${head} (no report yet)`;
  const c = s.counters;
  const peers = s.cluster.peers
    .filter((p) => p.node !== 'launcher')
    .map((p) => `${p.node} ${p.status} ↑${p.sent} ↓${p.received}${p.lost > 0 ? ` lost ${p.lost}` : ''}`)
    .join('; ');
  return (
    `${head} published blocks ${c.blocksPublished} priced ${c.pricedPublished}` +
    ` | delivered blocks ${c.blocksDelivered} priced ${c.pricedDelivered}` +
    ` | lagged ${c.lagged} | dead letters ${deadLetterText(s.deadLetters)}` +
    ` | executed ${c.executed} | ledger ${c.ledger} (recovered ${c.recovered}) | links: ${peers || '-'}`
  );
}

/**
 * The final accounting, per node (each node's counters are for its last process; a node's
 * ledger is durable, so its count covers every process it ran).
 */
export function finalAccounting(states: readonly NodeState[], opportunitiesSeen: number): string[] {
  const lines = [
    '=== final accounting, per node (counters of its last process; the ledger and the audit of the priced stream cover the whole run) ===',
  ];
  for (const s of states) {
    const c = s.counters;
    lines.push(
      `${s.node} (${s.roles.join(', ') || 'no role'}): published ${c.blocksPublished + c.pricedPublished}` +
        ` (blocks ${c.blocksPublished}, priced ${c.pricedPublished}), delivered ${c.blocksDelivered + c.pricedDelivered}` +
        ` (redelivered ${c.redelivered}), lagged ${c.lagged}, dead-lettered ${deadLetterText(s.deadLetters)},` +
        ` executed ${c.executed}, recovered ${c.recovered}${s.roles.includes('execution') ? `, ledger ${c.ledger}` : ''}` +
        `${s.roles.includes('source') ? `, execution reports received ${c.tallied}` : ''}`,
    );
  }
  const published = states.reduce((n, s) => n + s.counters.blocksPublished, 0);
  const delivered = states.reduce((n, s) => n + s.counters.blocksDelivered + s.counters.lagged, 0);
  if (published > delivered) {
    lines.push(
      `bus: ${published - delivered} of ${published} blocks (last processes) reached no decoder (published before it subscribed, ` +
        'or while its node was down: the bus is at-most-once by design; from the oracle on, the priced stream is durable)',
    );
  }
  const ledger = states.find((s) => s.roles.includes('execution'))?.counters.ledger;
  if (ledger !== undefined) {
    lines.push(
      ledger === opportunitiesSeen
        ? `ledger: ${ledger} executions recorded = ${opportunitiesSeen} opportunities priced: nothing lost`
        : `ledger: ${ledger} executions recorded, ${opportunitiesSeen} opportunities priced` +
            ' (the difference was still on its way: in JetStream or in the execution queue)',
    );
  }
  return lines;
}
