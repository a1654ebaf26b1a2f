/** Actor systems for the persistence tests, each recording its dead letters and failures, all shut down after each test. */
import { type ActorFailed, ActorSystem, type DeadLetter, type Logger } from '@troupe/runtime';
import { afterEach } from 'vitest';

const started: ActorSystem[] = [];
afterEach(async () => {
  for (const system of started.splice(0)) await system.shutdown({ timeoutMs: 1000 });
});

export function startSystem(
  name: string,
  options: { readonly logger?: Logger } = {},
): {
  system: ActorSystem;
  deadLetters: DeadLetter[];
  failures: ActorFailed[];
} {
  const system = ActorSystem.start(
    options.logger === undefined ? { name } : { name, logger: options.logger },
  );
  started.push(system);
  const deadLetters: DeadLetter[] = [];
  const failures: ActorFailed[] = [];
  system.events.subscribe((e) => {
    if (e.type === 'DeadLetter') deadLetters.push(e);
    if (e.type === 'ActorFailed') failures.push(e);
  });
  return { system, deadLetters, failures };
}
