/**
 * One fault of `npm run chaos` from start to verdict: the load runs, the fault comes and goes, the
 * client sends again what it must, and then the stores say what became of every request (checks.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { createRedisClient, type RedisClient } from '../src/redis/redis.module.js';
import type { AppProcess } from '../tools/app-process.js';
import { waitForTerminal, type PaymentLoad, type SentRequest } from '../tools/load.js';
import type { WebhookReceiver } from '../tools/webhook-receiver.js';
import { acceptedRefundIds, type RefundLoad } from '../tools/refund-load.js';
import { checkRefunds, checkStores, checkWebhooks, waitForRefundOutcomes } from './checks.js';
import type { Fault } from './faults.js';
import { passes, type FaultResult } from './report.js';

/** What every fault of a run shares. */
export interface ChaosRun {
  apps: AppProcess[];
  load: PaymentLoad;
  /** Refunds of a share of the load's completed payments, alongside it. */
  refunds: RefundLoad;
  /** The merchant's receiver, subscribed to every outcome with this endpoint and secret. */
  webhooks: { receiver: WebhookReceiver; endpointId: string; secret: string };
  config: AppConfig;
  /** Where each fault's requests are written. */
  runDir: string;
  log: (line: string) => void;
  /** Seconds of load per fault, of the fault itself, and the bound for every accepted payment to end after recovery. */
  durationS: number;
  outageS: number;
  terminalBoundS: number;
}

/** Answered requests sent again after each fault, at most (evenly spread over the run). */
const ANSWERED_RETRY_SAMPLE = 300;
/** How long the intake's claims of an Idempotency-Key or an order outlive a request that crashed. */
const CLAIM_LEASE_SECONDS = 30;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withStores<T>(config: AppConfig, fn: (dataSource: DataSource, redis: RedisClient) => Promise<T>): Promise<T> {
  const dataSource = new DataSource(appDataSourceOptions(config));
  await dataSource.initialize();
  const redis = createRedisClient(config, { commandTimeout: undefined, maxRetriesPerRequest: 3 });
  try {
    return await fn(dataSource, redis);
  } finally {
    await dataSource.destroy();
    redis.disconnect();
  }
}

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** In batches of 50, spread over the live instances. */
async function sendEach(records: SentRequest[], live: AppProcess[], send: (record: SentRequest, target: string) => Promise<void>): Promise<void> {
  for (let i = 0; i < records.length; i += 50) {
    await Promise.all(records.slice(i, i + 50).map((r, j) => send(r, live[(i + j) % live.length].url)));
  }
}

export async function runFault(fault: Fault, run: ChaosRun): Promise<FaultResult> {
  const { apps, load, refunds, log, durationS } = run;
  log(`=== ${fault.name}: ${fault.description}`);
  const wanted = apps.slice(0, fault.instances);
  await Promise.all(wanted.filter((a) => !a.running).map((a) => a.start().waitReady()));
  await Promise.all(apps.slice(fault.instances).map((a) => a.stop()));
  load.setTargets(wanted.map((a) => a.url));
  refunds.setTargets(wanted.map((a) => a.url));

  load.take();
  refunds.take();
  const loadStarted = Date.now();
  load.start();
  refunds.start();
  await sleep(durationS * 300);
  const faultAt = Date.now();
  log(`${fault.name}: injecting`);
  await fault.inject();
  const injectedAt = Date.now(); // rebalance-kill kills only after the 2nd instance is up
  await sleep(run.outageS * 1000);
  log(`${fault.name}: recovering`);
  const recoverStarted = Date.now();
  await fault.recover();
  const recoveredAt = Date.now();
  log(`${fault.name}: recovered in ${((recoveredAt - recoverStarted) / 1000).toFixed(1)} s; load goes on`);
  await sleep(Math.max(loadStarted + durationS * 1000 - Date.now(), durationS * 300));
  await load.stop();
  await refunds.stop();
  const records = load.take();
  const refundRecords = refunds.take();

  // A careful client sends each request that got no answer again, with the same Idempotency-Key.
  const live = apps.filter((a) => a.running);
  const unanswered = records.filter((r) => r.status === null);
  await sendEach(unanswered, live, (r, target) => load.retry(r, target));

  // A request a crash cut short must not hold its Idempotency-Key or its order for long: the ones still
  // "in progress" are sent once more after the claim lease (30 s) has passed since the kill.
  const inProgress = unanswered.filter((r) => r.retry?.code === 'idempotency_request_in_progress');
  if (inProgress.length > 0) {
    await sleep(Math.max(0, injectedAt + (CLAIM_LEASE_SECONDS + 5) * 1000 - Date.now()));
    await Promise.all(inProgress.map((r) => load.retry(r, live[r.n % live.length].url)));
  }
  // A client that never saw its 202 sends the request again: a sample of the answered ones, spread over
  // the run (before, during and after the fault), must get the paymentId of their first answer, even
  // where Redis lost the key in between (issue #19).
  const answered = records.filter((r) => r.status === 202 && r.paymentId && !r.repeatOrder);
  const sample = answered.filter((_, i) => i % Math.max(1, Math.ceil(answered.length / ANSWERED_RETRY_SAMPLE)) === 0);
  await sendEach(sample, live, (r, target) => load.sendAgain(r, target));
  // The same for refunds: one without an answer, or a 5xx, is sent again with its key.
  await refunds.retryUnfinished(refundRecords, live.map((a) => a.url));
  const retriesDoneAt = Date.now();
  const stuckKeys = inProgress.filter((r) => r.retry?.code === 'idempotency_request_in_progress').length;

  // What the client saw, request by request: every 202's paymentId, every 503, every request without an answer.
  writeFileSync(join(run.runDir, `${fault.name}-requests.jsonl`), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(run.runDir, `${fault.name}-refunds.jsonl`), refundRecords.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const acceptedIds = new Set<string>();
  for (const r of records) {
    if (r.status === 202 && r.paymentId) acceptedIds.add(r.paymentId);
    if (r.retry?.status === 202 && r.retry.paymentId) acceptedIds.add(r.retry.paymentId);
    if (r.again?.status === 202 && r.again.paymentId) acceptedIds.add(r.again.paymentId);
  }
  const acceptedAfterRetry = records.filter((r) => r.retry?.status === 202 && r.retry.paymentId).length;
  log(`${fault.name}: ${records.length} sent, ${acceptedIds.size} accepted; waiting until every accepted payment is terminal`);
  // Payments accepted on a retry came in after recovery: the bound runs from the later of the two.
  const deadline = Math.max(recoveredAt, retriesDoneAt) + run.terminalBoundS * 1000;
  const refundIds = acceptedRefundIds(refundRecords);
  const { missing, terminalAt, refundsMissing } = await withStores(run.config, async (dataSource) => {
    const missing = await waitForTerminal(dataSource, [...acceptedIds], deadline - Date.now());
    const terminalAt = missing.length === 0 ? Date.now() : null;
    return { missing, terminalAt, refundsMissing: await waitForRefundOutcomes(dataSource, refundIds, deadline - Date.now()) };
  });

  const webhookChecks = await withStores(run.config, (dataSource) => checkWebhooks(run, dataSource, [...acceptedIds], deadline));
  const checks = await withStores(run.config, (dataSource, redis) => checkStores(run, fault, records, sample, acceptedIds, dataSource, redis));
  const refundChecks = await withStores(run.config, (dataSource) => checkRefunds(dataSource, refundRecords));

  const mismatched = sample.filter((r) => r.again?.status !== 202 || r.again.paymentId !== r.paymentId);
  const measured: Omit<FaultResult, 'pass'> = {
    fault: fault.name,
    description: fault.description,
    sent: records.length,
    accepted: records.filter((r) => r.status === 202).length,
    unavailable503: records.filter((r) => r.status === 503).length,
    noAnswer: unanswered.length,
    otherStatuses: count(
      records.filter((r) => r.status !== null && r.status !== 202 && r.status !== 503),
      (r) => `${r.status}${r.repeatOrder ? ' (repeat order)' : ''}`,
    ),
    retriedNoAnswer: count(unanswered, (r) => `${r.retry?.status ?? 'none'}${r.retry?.replayed ? ' replayed' : ''}${r.retry?.code ? ` ${r.retry.code}` : ''}`),
    acceptedAfterRetry,
    lost: missing.length,
    lostPaymentIds: missing.slice(0, 20),
    doubled: checks.doubled.length,
    doubledDetail: checks.doubled.slice(0, 20),
    completedBehind503: checks.behind503.length,
    answeredRetried: sample.length,
    answeredRetriedReplayed: sample.filter((r) => r.again?.replayed).length,
    answeredRetryMismatched: mismatched.length,
    answeredRetryMismatchDetail: mismatched.slice(0, 20).map((r) => ({ n: r.n, paymentId: r.paymentId, again: r.again })),
    duplicatesFromRetries: checks.duplicatesFromRetries.length,
    stuck: stuckKeys + checks.stuckOrders.length,
    outcomes: Object.fromEntries(checks.outcomes.map((o) => [o.status, Number(o.n)])),
    faultSeconds: (recoverStarted - faultAt) / 1000,
    recoverySeconds: (recoveredAt - recoverStarted) / 1000,
    timeToAllTerminalSeconds: terminalAt === null ? null : Math.max(0, (terminalAt - recoveredAt) / 1000),
    verifyViolations: checks.report.violations.length,
    verifyDetail: checks.report.violations.slice(0, 20),
    refundsSent: refundRecords.length,
    refundsUnanswered: refundRecords.filter((r) => r.first.status === null).length,
    refundAnswers: count(refundRecords, (r) => `${r.plan} ${r.first.status ?? r.first.error}${r.first.code ? ` ${r.first.code}` : ''}`),
    refundsRetried: count(
      refundRecords.filter((r) => r.retry),
      (r) => `${r.retry?.status ?? r.retry?.error}${r.retry?.replayed ? ' replayed' : ''}`,
    ),
    refundsAccepted: refundIds.length,
    refundsLost: refundsMissing.length,
    lostRefundIds: refundsMissing.slice(0, 20),
    refundsDoubled: refundChecks.doubled.length,
    refundsDoubledDetail: refundChecks.doubled.slice(0, 20),
    refundKeyMismatched: refundChecks.keyMismatched.length,
    refundOutcomes: Object.fromEntries(refundChecks.outcomes.map((o) => [o.status, Number(o.n)])),
    ...webhookChecks,
  };
  const result: FaultResult = { ...measured, pass: passes(measured) };
  log(`${fault.name}: ${result.pass ? 'PASS' : 'FAIL'} ${JSON.stringify({ accepted: result.accepted, lost: result.lost, doubled: result.doubled, answeredRetried: result.answeredRetried, retryMismatched: result.answeredRetryMismatched, duplicatesFromRetries: result.duplicatesFromRetries, stuck: result.stuck, verify: result.verifyViolations, terminalS: result.timeToAllTerminalSeconds, refunds: result.refundsAccepted, refundsLost: result.refundsLost, refundsDoubled: result.refundsDoubled, webhooks: result.webhooksExpected, webhooksLost: result.webhooksLost })}`);
  return result;
}
