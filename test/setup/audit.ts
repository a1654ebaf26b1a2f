// Every test in the repository runs under the test kit's auditor: for each actor system a test
// starts, every message each actor received must be accounted for exactly once, every topic
// subscription must reconcile, and no error may reach uncaughtException / unhandledRejection.
// A test that breaks an invariant on purpose says so with `exemptFromAudit(system, why)`.
import { Auditor } from '@troupe/runtime/testing';
import { afterEach, beforeEach, expect } from 'vitest';

let audit: Auditor;
const escaped: unknown[] = [];
const record = (error: unknown) => escaped.push(error);
process.on('uncaughtException', record);
process.on('unhandledRejection', record);

beforeEach(() => {
  escaped.length = 0;
  audit = Auditor.start();
});

afterEach(async () => {
  const problems = await audit.finish();
  // A little grace for rejections that surface one turn after the test's last await.
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect({ problems, escaped: escaped.map(String) }, 'the auditor found broken accounting').toEqual({
    problems: [],
    escaped: [],
  });
});
