const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The faults `npm run chaos` injects, one at a time and then together, into its private servers and app instances. */
import type { AppProcess } from '../tools/app-process.js';
import type { PaymentLoad } from '../tools/load.js';
import type { RefundLoad } from '../tools/refund-load.js';
import type { WebhookReceiver } from '../tools/webhook-receiver.js';
import type { PrivateServers } from '../tools/private-servers.js';

export interface Fault {
  name: string;
  description: string;
  /** Instances running when the load starts. */
  instances: number;
  inject(): Promise<void>;
  /** Brings back what inject() took away; returns once the deployment is whole again. */
  recover(): Promise<void>;
}

/** Refunds sent at once right before refund-kill's kill -9, so that some are in flight in every part of their path. */
const REFUND_BURST = 60;

/** The eight faults, in the order a full run injects them; `apps` are instance A and instance B. */
export function chaosFaults({
  apps: [appA, appB],
  servers,
  load,
  refunds,
  receiver,
}: {
  apps: AppProcess[];
  servers: PrivateServers;
  load: PaymentLoad;
  refunds: RefundLoad;
  receiver: WebhookReceiver;
}): Fault[] {
  // A server back is not enough: the instance must answer ready again (its health checks saw it return).
  const thenReady = (bringBack: () => Promise<void>) => async () => {
    await bringBack();
    await appA.waitReady();
  };
  return [
    {
      name: 'app-kill',
      description: 'kill -9 the app, restart it',
      instances: 1,
      inject: () => appA.kill(),
      recover: () => appA.start().waitReady(),
    },
    {
      name: 'refund-kill',
      description: `kill -9 the app while ${REFUND_BURST} refunds are in flight, restart it`,
      instances: 1,
      inject: async () => {
        await refunds.burst(REFUND_BURST);
        // In the intake (reserved, not yet confirmed by Kafka) and in the refunds consumer (posted, offset not committed).
        await sleep(100);
        await appA.kill();
      },
      recover: () => appA.start().waitReady(),
    },
    {
      name: 'webhook-kill',
      description: 'kill -9 the app mid-delivery and start it again, the receiver answering 503 for the outage, then 200',
      instances: 1,
      inject: async () => {
        // A slow receiver keeps deliveries in flight; the kill lands in the middle of them.
        receiver.answerWith(() => sleep(1_500).then(() => 200));
        await sleep(1_000);
        await appA.kill();
        // Back at once, so that its deliveries meet the receiver's outage and are tried again.
        receiver.answerWith(() => 503);
        await appA.start().waitReady();
      },
      recover: async () => {
        receiver.answerWith(() => 200);
      },
    },
    {
      name: 'kafka-restart',
      description: 'stop the Kafka broker, start it again',
      instances: 1,
      inject: () => servers.kafkaStop(),
      recover: thenReady(() => servers.kafkaStart()),
    },
    servers.redisCluster
      ? {
          name: 'redis-failover',
          description: "kill -9 the Redis Cluster master of the merchant's slot; its replica takes over, the node rejoins as a replica",
          instances: 1,
          inject: () => servers.killRedis(),
          recover: thenReady(() => servers.startRedis()),
        }
      : {
          name: 'redis-wipe',
          description: 'kill -9 Redis (no persistence) and start it empty',
          instances: 1,
          inject: () => servers.killRedis(),
          recover: thenReady(() => servers.startRedis()),
        },
    {
      name: 'postgres-restart',
      description: 'stop PostgreSQL (fast), start it again',
      instances: 1,
      inject: () => servers.stopPostgres('fast'),
      recover: thenReady(() => servers.startPostgres()),
    },
    {
      name: 'rebalance-kill',
      description: 'start a 2nd instance in the same groups, kill -9 the 1st while they rebalance',
      instances: 1,
      inject: async () => {
        // Ready means its stage consumers have joined the groups: the rebalance is under way right now.
        await appB.start().waitReady();
        load.setTargets([appA.url, appB.url]);
        await appA.kill();
      },
      recover: () => appA.start().waitReady(),
    },
    {
      name: 'combined',
      description: `two instances; kill -9 one, stop Kafka, ${servers.redisCluster ? "kill the merchant's Redis master" : 'wipe Redis'}, stop PostgreSQL, all at once`,
      instances: 2,
      inject: async () => {
        await Promise.all([appA.kill(), servers.kafkaStop(), servers.killRedis(), servers.stopPostgres('immediate')]);
      },
      recover: async () => {
        await Promise.all([servers.startPostgres(), servers.startRedis(), servers.kafkaStart()]);
        await appA.start().waitReady();
        await appB.waitReady();
      },
    },
  ];
}
