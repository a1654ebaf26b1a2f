/**
 * Every benchmark scenario, in report order. To add one, write `sN-name.ts` exporting a
 * `Scenario` and append it here.
 */
import type { Scenario } from '../scenario.js';
import { p1Sqlite, p2Recovery, p3Postgres } from './p-persistence.js';
import { r1RemoteTell, r2RemoteAsk } from './r-cluster.js';
import { r4FanOut } from './r4-fan-out.js';
import { r5Durable } from './r5-durable.js';
import { s1Mpsc } from './s1-mpsc.js';
import { s1bBroadcast } from './s1b-broadcast.js';
import { s2ActorTell } from './s2-actor-tell.js';
import { s2mMachineActor } from './s2m-machine-actor.js';
import { s3aTopicFanOut, s3bTopicFanOut } from './s3-topic.js';
import { s4Ask } from './s4-ask.js';
import { s5Spawn } from './s5-spawn.js';
import { s6qRestartsQueued, s6Restarts } from './s6-restarts.js';

export const scenarios: readonly Scenario[] = [
  s1Mpsc,
  s1bBroadcast,
  s2ActorTell,
  s2mMachineActor,
  s3aTopicFanOut,
  s3bTopicFanOut,
  s4Ask,
  s5Spawn,
  s6Restarts,
  s6qRestartsQueued,
  r1RemoteTell,
  r2RemoteAsk,
  r4FanOut,
  r5Durable,
  p1Sqlite,
  p2Recovery,
  p3Postgres,
];

/** The scenario with this id (case-insensitive), or undefined. */
export function findScenario(id: string): Scenario | undefined {
  const wanted = id.toLowerCase();
  return scenarios.find((s) => s.id.toLowerCase() === wanted);
}
