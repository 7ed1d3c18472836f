import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { AppConfig } from '../src/config/app-config.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';

/** Runs a set-up command (stack, migrations, seed) in the foreground; a failure stops the bench. */
export function step(command: string, commandArgs: string[]): void {
  const result = spawnSync(command, commandArgs, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed`);
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export function processUsage(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssPages = Number(stat[21]);
  return { cpuSeconds: ticks / 100, rssMb: (rssPages * 4096) / 1024 / 1024 };
}

/** Waits until an app process answers its readiness URL with 2xx (90 s at most), or fails if it exited. */
export async function waitUntilReady(url: string, app: ChildProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (app.exitCode !== null) throw new Error(`the app exited with ${app.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the app was not ready at ${url} within 90 s`);
}

/**
 * Removes what one run left on the shared servers: its topics and consumer groups (all named with
 * the run's prefix) and, given a Redis client and the run's key prefix, its keys. Without it they
 * pile up on a broker and a Redis that tests and other people use.
 */
export async function removeRunLeftovers(config: AppConfig, topicPrefix: string, redis?: { client: Redis; keyPrefix: string }): Promise<void> {
  const admin = new Kafka({ ...kafkaConnectionOptions(config.kafka), clientId: 'bench-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(topicPrefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  if (!redis) return;
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${redis.keyPrefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
