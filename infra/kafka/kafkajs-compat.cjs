// Compatibility check: the app's Kafka client (kafkajs 2.2.4) against the local
// broker started by scripts/kafka.sh. Run it after changing infra/kafka/pom.xml:
//
//   scripts/kafka.sh start && node infra/kafka/kafkajs-compat.cjs
//
// (kafkajs resolves from the app's node_modules; KAFKA_BROKERS overrides the
// broker.) Exits 0 and prints "ALL PASSED", or exits 1 with the failing step.
// .cjs because the app's package.json makes plain .js files ES modules.
// Kafka 4.0 removed old protocol versions (KIP-896); every call kafkajs makes
// below must still find a common version with the broker.
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs');

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const kafka = new Kafka({
  clientId: 'kafkajs-compat',
  brokers: (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(','),
  logLevel: logLevel.WARN,
});
const run = Date.now();
const N = 50;
const step = (m) => console.log('OK  ' + m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (fn, ms, what) => {
  const t = Date.now();
  while (!(await fn())) {
    if (Date.now() - t > ms) throw new Error('timeout: ' + what);
    await sleep(100);
  }
};

// One consumer group reading the whole topic back, committing as it goes.
async function readBack(topic, mode, groupId) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set();
  const t0 = Date.now();
  if (mode === 'eachMessage') {
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        seen.add(message.value.toString());
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
  } else {
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
        for (const m of batch.messages) {
          seen.add(m.value.toString());
          resolveOffset(m.offset);
        }
        await heartbeat();
        await commitOffsetsIfNecessary();
      },
    });
  }
  await until(() => seen.size >= N, 45000, `${mode} read-back (${seen.size}/${N})`);
  step(`${mode}: group joined, read ${seen.size}/${N} in ${Date.now() - t0} ms, committed`);
  await consumer.disconnect();
}

async function basic(admin) {
  const topic = `compat-${run}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
  step('createTopics (12 partitions)');
  if (!(await admin.listTopics()).includes(topic)) throw new Error('listTopics: topic missing');
  step('listTopics');
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  if (md.topics[0].partitions.length !== 12) throw new Error('metadata: wrong partition count');
  step('fetchTopicMetadata');

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const res = await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: N }, (_, i) => ({ key: `k${i % 17}`, value: `v${i}` })),
  });
  if (res.some((r) => r.errorCode !== 0)) throw new Error('produce errors: ' + JSON.stringify(res));
  step(`idempotent producer, acks=-1: ${N} messages to ${res.length} partitions`);
  await producer.disconnect();

  const offs = await admin.fetchTopicOffsets(topic);
  const total = offs.reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
  if (total !== N) throw new Error(`fetchTopicOffsets: ${total} != ${N}`);
  step('fetchTopicOffsets');

  for (const mode of ['eachMessage', 'eachBatch']) {
    const groupId = `g-${mode}-${run}`;
    await readBack(topic, mode, groupId);
    const fo = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = fo[0].partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
    if (committed !== N) throw new Error(`fetchOffsets ${groupId}: ${committed} != ${N}`);
    step(`fetchOffsets (${mode} group): committed ${committed}`);
  }
  const dg = await admin.describeGroups([`g-eachMessage-${run}`]);
  step(`describeGroups: ${dg.groups[0].state}/${dg.groups[0].protocolType}; listGroups: ${(await admin.listGroups()).groups.length}`);
  const cl = await admin.describeCluster();
  step(`describeCluster: brokers=${JSON.stringify(cl.brokers)} controller=${cl.controller} clusterId=${cl.clusterId}`);
  await admin.deleteTopics({ topics: [topic] });
  step('deleteTopics');
}

async function extended(admin) {
  const topic = `compat2-${run}`;
  const out = `${topic}-out`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 12 }, { topic: out, numPartitions: 3 }], waitForLeaders: true });
  const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  step(`describeConfigs (${cfg.resources[0].configEntries.length} entries)`);
  await admin.createPartitions({ topicPartitions: [{ topic: out, count: 4 }] });
  step('createPartitions');

  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  await p.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `a${i}` })) });
  step('gzip batch');

  // Two members in one group: rebalance, each message seen.
  const g = `g2-${run}`;
  const seen = new Set();
  const members = [];
  for (let i = 0; i < 2; i++) {
    const c = kafka.consumer({ groupId: g, sessionTimeout: 10000, heartbeatInterval: 500 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { seen.add(message.value.toString()); } });
    members.push(c);
  }
  await until(() => seen.size >= 40, 45000, `two-member read (${seen.size}/40)`);
  const d = await admin.describeGroups([g]);
  step(`two-member group: ${d.groups[0].state}, ${d.groups[0].members.length} members`);
  for (const c of members) await c.disconnect();

  // Restarted group resumes at its committed offsets: only the new message.
  await p.send({ topic, acks: -1, messages: [{ key: 'x', value: 'after-restart' }] });
  const c2 = kafka.consumer({ groupId: g });
  await c2.connect();
  await c2.subscribe({ topic, fromBeginning: true });
  const got = [];
  await c2.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()); } });
  await until(() => got.length >= 1, 30000, 'resume');
  await sleep(1500);
  if (got.length !== 1) throw new Error('redelivered after restart: ' + JSON.stringify(got));
  step('group resumes from committed offsets');
  await c2.disconnect();
  await p.disconnect();

  // Transactions: consume-transform-produce with sendOffsets, then an abort.
  const tp = kafka.producer({ transactionalId: `tx-${run}`, idempotent: true, maxInFlightRequests: 1 });
  await tp.connect();
  const tx = await tp.transaction();
  await tx.send({ topic: out, messages: [{ key: 'a', value: 'tx1' }, { key: 'b', value: 'tx2' }] });
  await tx.sendOffsets({ consumerGroupId: `gtx-${run}`, topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] });
  await tx.commit();
  const tx2 = await tp.transaction();
  await tx2.send({ topic: out, messages: [{ value: 'aborted' }] });
  await tx2.abort();
  await tp.disconnect();
  const rc = kafka.consumer({ groupId: `rc-${run}`, readUncommitted: false });
  await rc.connect();
  await rc.subscribe({ topic: out, fromBeginning: true });
  const outv = [];
  await rc.run({ eachMessage: async ({ message }) => { outv.push(message.value.toString()); } });
  await until(() => outv.length >= 2, 30000, 'read_committed');
  await sleep(1500);
  await rc.disconnect();
  if (outv.includes('aborted') || outv.length !== 2) throw new Error('read_committed saw ' + JSON.stringify(outv));
  const fo = await admin.fetchOffsets({ groupId: `gtx-${run}`, topics: [topic] });
  if (fo[0].partitions.find((x) => x.partition === 0).offset !== '1') throw new Error('txn offset not committed');
  step('transaction commit + sendOffsets + abort, read_committed');
  await admin.deleteTopics({ topics: [topic, out] });
}

(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await basic(admin);
  await extended(admin);
  await admin.disconnect();
  console.log('ALL PASSED');
  process.exit(0);
})().catch((e) => {
  console.error('FAILED:', (e && e.stack) || e);
  process.exit(1);
});
