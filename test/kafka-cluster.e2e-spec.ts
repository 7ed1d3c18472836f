import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { EventPublisher } from '../src/kafka/event-publisher.js';
import { KafkaTopics } from '../src/kafka/kafka-topics.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { spawnApp, stopAppsAndServers, testProcessEnv, type AppProcess } from './support/app-process.js';
import { LocalKafkaCluster } from './support/kafka-cluster.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { PaymentLoad, waitForTerminal } from '../tools/load.js';
import { checkMoney, fundPayers } from './support/money.js';
import { TEST_RUN_ID } from './support/test-config.js';

/**
 * Broker failover under load: the app on a three-node cluster (replication 3, min.insync.replicas 2,
 * acks=all), one broker killed with SIGKILL while payments keep coming. A 503 during the failover is
 * allowed; losing or doubling anything that got a 202 is not.
 */
describe('three-broker Kafka cluster: a broker dies under load', () => {
  const cluster = new LocalKafkaCluster();
  const prefix = `test.${TEST_RUN_ID}.cluster.`;
  let app: AppProcess;
  let env: Record<string, string>;
  let config: AppConfig;
  let dataSource: DataSource;
  let redis: Redis;
  const payers = Array.from({ length: 24 }, (_, i) => `CLUSTER-${randomUUID().slice(0, 6)}-${i}`);
  const load = () => new PaymentLoad({ targets: [app.url], payers, pace: { concurrency: 4 } });
  let traffic: PaymentLoad;
  let killedNode = 0;
  const probeTopic = 'publisher-probe';

  beforeAll(async () => {
    await cluster.start();
    env = testProcessEnv({
      KAFKA_BROKERS: cluster.brokers,
      KAFKA_REPLICATION_FACTOR: '3',
      KAFKA_TOPIC_PREFIX: prefix,
      REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:cluster:`,
      KAFKA_CLIENT_ID: 'payments-cluster-e2e',
      FRAUD_VELOCITY_MAX_COUNT: '0',
      FRAUD_NEW_USER_HOURS: '0',
      LOG_LEVEL: 'warn',
    });
    config = AppConfig.fromEnvironment(env);
    app = await spawnApp('app', env);
    dataSource = await new DataSource(appDataSourceOptions(config)).initialize();
    redis = new Redis({ host: config.redis.host, port: config.redis.port, keyPrefix: config.redis.keyPrefix });
    await fundPayers(app.url, payers);
    // A topic of its own for the publisher probe (the kill test), its partitions led by all three brokers.
    const admin = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: `${prefix}${probeTopic}`, numPartitions: 12, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      });
      // kafkajs' waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy KRaft broker answers
      // until the new topic's metadata reaches it: wait for every partition's leader here instead.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const led = await admin
          .fetchTopicMetadata({ topics: [`${prefix}${probeTopic}`] })
          .then(({ topics }) => topics[0].partitions.length === 12 && topics[0].partitions.every((p) => p.leader >= 0))
          .catch(() => false);
        if (led) break;
        if (Date.now() > deadline) throw new Error(`${prefix}${probeTopic}: no leader for every partition within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      await admin.disconnect();
    }
  }, 180_000);

  afterAll(() => stopAppsAndServers(cluster, { dataSource, redis }), 120_000);

  it('should create the topics with three replicas and min.insync.replicas 2', async () => {
    const admin = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [`${prefix}payments.initiated`] });
      expect(topics[0].partitions.every((p) => p.replicas.length === 3)).toBe(true);
      const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: `${prefix}payments.initiated`, configNames: ['min.insync.replicas'] }], includeSynonyms: false });
      expect(described.resources[0].configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');
    } finally {
      await admin.disconnect();
    }
  });

  it('should lose and double nothing accepted when a broker is killed under load', async () => {
    // The broker leading partition 0 of the intake topic: killing it forces a leader election where it hurts.
    const admin = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [`${prefix}payments.initiated`] });
      killedNode = topics[0].partitions.find((p) => p.partitionId === 0)!.leader;
    } finally {
      await admin.disconnect();
    }
    traffic = load();
    traffic.start();
    // The longest deadline allowed, longer than the leader election (about 3 s here): sends then succeed on the retry after
    // it, which is where kafkajs 2.2.4 dropped the partitions that had moved (patches/README.md).
    const probe = new PublisherProbe(AppConfig.fromEnvironment({ ...env, KAFKA_PUBLISH_TIMEOUT_MS: '5000' }), probeTopic);
    probe.start();
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    const beforeKill = traffic.count;
    expect(beforeKill).toBeGreaterThan(0);

    await cluster.kill(killedNode || 1);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const afterKill = traffic.count - beforeKill;
    await Promise.all([traffic.stop(), probe.stop()]);

    // The publisher itself: every event it reported as stored (acks=all) is in the log.
    const probeLost = await probe.lostAcknowledged();
    console.log(`cluster failover publisher probe: ${probe.acknowledged.size} acknowledged, ${probe.failures} sends failed, ${probeLost.length} acknowledged but not in the log`);
    expect(probe.acknowledged.size).toBeGreaterThan(0);
    expect(probeLost).toEqual([]);
    console.log(`cluster failover: node ${killedNode} killed after ${beforeKill} accepted; ${afterKill} accepted after the kill. ${traffic.summary()}`);

    // The intake keeps accepting on the two survivors (replication 3, min ISR 2).
    expect(afterKill).toBeGreaterThan(0);

    const ids = traffic.accepted.map((a) => a.paymentId);
    const missing = await waitForTerminal(dataSource, ids, 60_000);
    if (missing.length > 0) console.log(`${missing.length} not terminal; the app's last lines:\n${app.output().split('\n').slice(-60).join('\n')}`);
    expect(missing).toEqual([]);

    const money = await checkMoney(dataSource, traffic.accepted);
    console.log(`cluster failover outcomes of ${ids.length} accepted: ${JSON.stringify(money.byStatus)}`);
    expect(money).toMatchObject({ lost: [], doubled: [], failedAfterAccept: [] });

    const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: 30_000 });
    expect(report.violations).toEqual([]);
    // Every 202 is on payments.initiated (a 503'd event that landed late may be there too, ended FAILED).
    expect(report.acceptedPayments).toBeGreaterThanOrEqual(ids.length);
    expect(report.terminalPayments).toBe(report.acceptedPayments);
  }, 150_000);

  it('should take the killed broker back into every in-sync replica set when it restarts', async () => {
    await cluster.startNode(killedNode || 1);
    const admin = new Kafka({ brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = ['initiated', 'validated', 'approved', 'finalized'].map((t) => `${prefix}payments.${t}`);
      const deadline = Date.now() + 60_000;
      let shrunk: string[] = [];
      do {
        const { topics: described } = await admin.fetchTopicMetadata({ topics });
        shrunk = described.flatMap((t) => t.partitions.filter((p) => p.isr.length < 3).map((p) => `${t.name}[${p.partitionId}]`));
        if (shrunk.length > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
      } while (shrunk.length > 0 && Date.now() < deadline);
      expect(shrunk).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    // And the app still takes payments end to end.
    const traffic = load();
    traffic.start();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await traffic.stop();
    // With every replica back, every request is taken: a run of 503s would pass an empty check below.
    expect({ answers: [...traffic.statuses.keys()], some: traffic.count > 0 }).toEqual({ answers: ['202'], some: true });
    const missing = await waitForTerminal(dataSource, traffic.accepted.map((a) => a.paymentId), 30_000);
    if (missing.length > 0) console.log(`${missing.length} not terminal; the app's last lines:\n${app.output().split('\n').slice(-60).join('\n')}`);
    expect(missing).toEqual([]);
  }, 120_000);
});

/**
 * The app's EventPublisher on its own, as the intake and the stages use it: several callers publishing
 * at once, each event's id recorded once Kafka acknowledged it. Afterwards the topic is read back in
 * full: an acknowledged event missing from it is a lost payment in the making.
 */
class PublisherProbe {
  readonly acknowledged = new Set<string>();
  failures = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly publisher: EventPublisher;
  private readonly topic: string;

  constructor(
    private readonly config: AppConfig,
    private readonly logicalTopic: string,
  ) {
    const topics = new KafkaTopics(config);
    this.publisher = new EventPublisher(config, topics, new MetricsService());
    this.topic = topics.physical(logicalTopic);
  }

  start(callers = 8): void {
    this.running = true;
    this.loops = Array.from({ length: callers }, (_, caller) => this.loop(caller));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(caller: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const id = `${caller}-${i}`;
      try {
        await this.publisher.publishRecords([{ topic: this.topic, key: `payer-${caller}-${i % 50}`, value: id }]);
        this.acknowledged.add(id);
      } catch {
        this.failures++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Reads the topic from its beginning until every acknowledged id is seen (or 30 s passed); returns the ones missing. */
  async lostAcknowledged(): Promise<string[]> {
    await this.publisher.onModuleDestroy();
    const reader = await KafkaProbe.start(this.config, this.logicalTopic);
    const deadline = Date.now() + 30_000;
    let missing: string[];
    for (;;) {
      const seen = new Set(reader.events.map((event) => event.raw));
      missing = [...this.acknowledged].filter((id) => !seen.has(id));
      if (missing.length === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await reader.stop();
    return missing;
  }
}
