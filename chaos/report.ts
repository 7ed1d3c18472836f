/** What a chaos run found: each fault's figures, the rule that passes it, and the table and files of the run. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultResult {
  fault: string;
  description: string;
  sent: number;
  accepted: number;
  unavailable503: number;
  noAnswer: number;
  otherStatuses: Record<string, number>;
  retriedNoAnswer: Record<string, number>;
  acceptedAfterRetry: number;
  lost: number;
  lostPaymentIds: string[];
  doubled: number;
  doubledDetail: unknown[];
  completedBehind503: number;
  /** Answered (202) requests sent again after recovery, and how many of them got another answer than their first paymentId. */
  answeredRetried: number;
  answeredRetriedReplayed: number;
  answeredRetryMismatched: number;
  answeredRetryMismatchDetail: unknown[];
  /** Payments of the retried orders declined DUPLICATE_ORDER that no repeat-order request made (so a retry did). */
  duplicatesFromRetries: number;
  /** Idempotency-Keys still "in progress" after the claim lease, and orders held by a payment that does not exist. */
  stuck: number;
  outcomes: Record<string, number>;
  faultSeconds: number;
  recoverySeconds: number;
  timeToAllTerminalSeconds: number | null;
  verifyViolations: number;
  verifyDetail: unknown[];
  /** Refund requests (each sending of the load's plans), their first answers, and those sent again after recovery. */
  refundsSent: number;
  refundsUnanswered: number;
  refundAnswers: Record<string, number>;
  refundsRetried: Record<string, number>;
  /** Refunds a 202 named; those without an outcome in PostgreSQL in time; those that moved money other than once. */
  refundsAccepted: number;
  refundsLost: number;
  lostRefundIds: string[];
  refundsDoubled: number;
  refundsDoubledDetail: unknown[];
  /** Refund keys sent more than once that named more than one refund. */
  refundKeyMismatched: number;
  refundOutcomes: Record<string, number>;
  /** Webhook events of the fault's payments and refunds; those the receiver never got by the bound; sent more than once (same id); one outcome under two ids; bad signatures. */
  webhooksExpected: number;
  webhooksLost: number;
  lostWebhookIds: string[];
  webhooksRedelivered: number;
  webhookIdsMismatched: number;
  webhooksForged: number;
  pass: boolean;
  error?: string;
}

export interface RunSummary {
  runAt: string;
  machine: string;
  settings: { terminalBoundS: number } & Record<string, unknown>;
  results: FaultResult[];
  passed: boolean;
  totalSeconds: number;
}

/**
 * Nothing accepted lost, doubled or stuck, no 503 that took a payment, every retry its first answer,
 * every payment ended in time; refunds made under the fault, none lost or doubled, one per key; every
 * outcome's webhook received, under one id, correctly signed.
 */
export function passes(r: Omit<FaultResult, 'pass'>): boolean {
  return (
    r.refundsAccepted > 0 &&
    r.webhooksExpected > 0 &&
    r.webhooksLost === 0 &&
    r.webhookIdsMismatched === 0 &&
    r.webhooksForged === 0 &&
    r.refundsLost === 0 &&
    r.refundsDoubled === 0 &&
    r.refundKeyMismatched === 0 &&
    r.lost === 0 &&
    r.doubled === 0 &&
    r.completedBehind503 === 0 &&
    r.answeredRetryMismatched === 0 &&
    r.duplicatesFromRetries === 0 &&
    r.stuck === 0 &&
    r.verifyViolations === 0 &&
    r.timeToAllTerminalSeconds !== null
  );
}

export function markdown(summary: RunSummary): string {
  // A fault that threw has no figures: its row says why, the other columns stay empty.
  const rows = summary.results.map((r) =>
    r.error ? [r.fault, ...Array<string>(12).fill(''), `ERROR: ${r.error}`].join(' | ') : [
      r.fault,
      r.sent,
      r.accepted + (r.acceptedAfterRetry ? ` (+${r.acceptedAfterRetry} on retry)` : ''),
      r.unavailable503,
      r.noAnswer,
      r.lost,
      r.doubled + r.completedBehind503,
      `${r.answeredRetried - r.answeredRetryMismatched}/${r.answeredRetried}${r.duplicatesFromRetries ? ` (${r.duplicatesFromRetries} DUPLICATE_ORDER)` : ''}`,
      r.stuck,
      r.timeToAllTerminalSeconds === null ? `> ${summary.settings.terminalBoundS}` : r.timeToAllTerminalSeconds.toFixed(1),
      r.verifyViolations,
      `${r.refundsAccepted} / ${r.refundsLost} / ${r.refundsDoubled + r.refundKeyMismatched}`,
      `${r.webhooksExpected} / ${r.webhooksLost} / ${r.webhookIdsMismatched + r.webhooksForged} (${r.webhooksRedelivered} again)`,
      r.error ? `ERROR: ${r.error}` : r.pass ? 'PASS' : 'FAIL',
    ].join(' | '),
  );
  return [
    `# Chaos run ${summary.runAt}`,
    '',
    `${summary.machine}; ${JSON.stringify(summary.settings)}; ${summary.totalSeconds.toFixed(0)} s in all.`,
    '',
    '| fault | sent | accepted (202) | 503 | no answer | lost | doubled | answered 202 sent again: same paymentId | stuck | all terminal after recovery (s) | verify violations | refunds accepted / lost / doubled | webhooks expected / lost / bad (sent again) | result |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    '',
    ...summary.results.filter((r) => !r.error).flatMap((r) => [
      `- **${r.fault}** (${r.description}): fault ${r.faultSeconds.toFixed(1)} s, recovery ${r.recoverySeconds.toFixed(1)} s; outcomes ${JSON.stringify(r.outcomes)}; other answers ${JSON.stringify(r.otherStatuses)}; unanswered sent again ${JSON.stringify(r.retriedNoAnswer)}; answered sent again ${r.answeredRetried} (${r.answeredRetriedReplayed} replayed); refunds ${JSON.stringify(r.refundOutcomes)}, first answers ${JSON.stringify(r.refundAnswers)}, sent again ${JSON.stringify(r.refundsRetried)}`,
    ]),
    '',
  ].join('\n');
}

/** result.json and result.md in the run's folder, the table on the terminal, and the verdict last. */
export function writeReport(runDir: string, summary: RunSummary): void {
  writeFileSync(join(runDir, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(runDir, 'result.md'), markdown(summary));
  console.log(`\n${markdown(summary)}`);
  console.log(`written: ${join(runDir, 'result.json')}, ${join(runDir, 'result.md')}`);
  console.log(summary.passed ? 'chaos: PASS' : 'chaos: FAIL');
}
