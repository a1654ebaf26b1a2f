/** What the cluster benchmarks' two nodes agree on: message types and registry keys. */
import { serviceKey } from '@troupe/cluster';
export const COUNTER = serviceKey('bench-counter');
export const ECHO = serviceKey('bench-echo');
export const SLOW = serviceKey('bench-slow');
//# sourceMappingURL=keys.js.map
