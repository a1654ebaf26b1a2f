/**
 * The final summary's dead-letter lines: every dead letter explained, grouped by reason, then
 * by recipient, so that "nothing is lost silently" can be checked against the numbers.
 */
import type { ActorSystem, DeadLetter } from '@troupe/runtime';

/** What each reason means, in the words of `DeadLetterReason`. */
const MEANING: Record<DeadLetter['reason'], string> = {
  stopped: 'sent to an actor after it stopped, or still queued when it stopped',
  unhandled: 'the behaviour did not accept it in its current state',
  mailboxFull: 'a tell to a full mailbox whose policy is to block',
  dropped: "discarded by a full mailbox's overflow policy",
  lateReply: 'a reply to an ask that had already timed out',
  shutdown: 'still queued when shutdown stopped its actor hard',
  failed: 'its handler threw',
  invalid: 'not a message (no string type), or bytes from another node that do not decode',
  unreachable: 'for an actor on a cluster node that is down, unknown or unreachable',
};

/** Counts `system`'s dead letters from now on, by reason and recipient. */
export function countDeadLetters(system: ActorSystem): { lines(): string[] } {
  const byReason = new Map<DeadLetter['reason'], Map<string, number>>();
  system.events.subscribe((event) => {
    if (event.type !== 'DeadLetter') return;
    const recipients = byReason.get(event.reason) ?? new Map<string, number>();
    recipients.set(event.recipient, (recipients.get(event.recipient) ?? 0) + 1);
    byReason.set(event.reason, recipients);
  });
  return { lines: () => deadLetterLines(byReason) };
}

/**
 * `  dead letters: 3`, then one line per reason (most first) with its meaning and recipients:
 * `    2 stopped (sent to an actor after it stopped…): /user/a ×2`.
 */
export function deadLetterLines(byReason: ReadonlyMap<DeadLetter['reason'], ReadonlyMap<string, number>>) {
  const total = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const groups = [...byReason].map(([reason, recipients]) => ({ reason, recipients, n: total(recipients) }));
  groups.sort((a, b) => b.n - a.n || a.reason.localeCompare(b.reason));
  const lines = [`  dead letters: ${groups.reduce((sum, g) => sum + g.n, 0)}`];
  for (const { reason, recipients, n } of groups) {
    const who = [...recipients]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([path, count]) => `${path} ×${count}`)
      .join(', ');
    lines.push(`    ${n} ${reason} (${MEANING[reason]}): ${who}`);
  }
  return lines;
}
