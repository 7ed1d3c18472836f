import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { testConfig } from './support/test-config.js';

/**
 * Keeps `npm run bench` from rotting: a few seconds of it against the real stack (test database),
 * checking that it measures, drains and verifies. Speed itself is never asserted here.
 */
describe('benchmark smoke run', () => {
  it('should measure intake and end to end, drain every accepted payment, find its ledger balanced and leave nothing behind', async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { stdio: 'ignore' });
    const output = execFileSync(
      'node',
      ['.cache/bench-build/bench/run.js', '--duration', '2', '--connections', '4', '--no-baselines', '--port', '8097'],
      { env: { ...process.env, DB_NAME: process.env.TEST_DB_NAME ?? 'payments_test' }, encoding: 'utf8', timeout: 240_000 },
    );
    const file = /written: (\S+\.json)/.exec(output)?.[1];
    expect(file).toBeDefined();
    const result = JSON.parse(readFileSync(file!, 'utf8'));
    // Both deployment shapes by default: one process with every role, an API process plus a worker process.
    expect(Object.keys(result.shapes)).toEqual(['single', 'split']);
    for (const shape of Object.values(result.shapes) as { intake: { accepted: number; acceptedPerSecond: number }; correctness: { terminal: number }; endToEnd: { outcomes: Record<string, number> } }[]) {
      expect(shape.intake.accepted).toBeGreaterThan(0);
      expect(shape.intake.acceptedPerSecond).toBeGreaterThan(0);
      expect(shape.correctness).toMatchObject({ allAcceptedTerminal: true, ledgerInvariantViolations: 0, verifyViolations: 0 });
      expect(shape.correctness.terminal).toBe(shape.intake.accepted);
      expect(shape.endToEnd.outcomes.COMPLETED).toBe(shape.intake.accepted);
    }
    expect(result.correctness).toMatchObject({ allAcceptedTerminal: true, ledgerInvariantViolations: 0 });

    // Its own namespace on the shared servers, removed at the end: no topic, group or key is left.
    const { topicPrefix, redisKeyPrefix } = result.settings as { topicPrefix: string; redisKeyPrefix: string };
    expect(topicPrefix).toMatch(/^bench\.[a-z0-9]+\.$/);
    expect(redisKeyPrefix).toMatch(/^bench:[a-z0-9]+:$/);
    const config = testConfig();
    const admin = new Kafka({ clientId: 'bench-smoke', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const redis = new Redis({ host: config.redis.host, port: config.redis.port, lazyConnect: true });
    await redis.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.startsWith(topicPrefix))).toEqual([]);
      expect((await admin.listGroups()).groups.filter((g) => g.groupId.startsWith(topicPrefix))).toEqual([]);
      expect(await redis.keys(`${redisKeyPrefix}*`)).toEqual([]);
    } finally {
      await admin.disconnect();
      redis.disconnect();
    }
  });
});
