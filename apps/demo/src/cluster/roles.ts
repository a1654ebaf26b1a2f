/**
 * Which part of the pipeline each node runs. Three roles, spread over the nodes in order
 * (`node-1` the source, `node-2` the decoder and oracle, `node-3` the detector, execution and
 * ledger); with fewer nodes the roles wrap around, with more the extra nodes run none (they
 * still join: a cluster of idle members is a cluster too).
 */
export type Role = 'source' | 'pricing' | 'execution';

export const ROLES: readonly Role[] = ['source', 'pricing', 'execution'];

export const nodeName = (index: number): string => `node-${index + 1}`;

/** The roles of node `index` (0-based) in a cluster of `count` nodes. */
export function rolesOf(index: number, count: number): Role[] {
  return ROLES.filter((_, r) => r % count === index);
}
