import { lockSlot, portsOfSlot, PrivateServers } from '../../tools/private-servers.js';

/** `npm run chaos` takes slots 0–9; the e2e suites take 10–19, so the two never share a server. */
const FIRST_SLOT = 10;
const LAST_SLOT = 19;

export interface PrivateStack {
  servers: PrivateServers;
  /** Overrides for testConfig()/testProcessEnv(): the app talks to these servers only. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A Kafka broker, a Redis and a PostgreSQL cluster of the suite's own, from empty data, on the ports of
 * a locked slot (tools/private-servers.ts, the helpers `npm run chaos` uses). Suites that stop, kill or wipe a
 * server do it to these: the shared servers on 9092, 6379 and 5432 stay up for the whole run.
 */
export async function startPrivateStack(log: (line: string) => void = () => undefined): Promise<PrivateStack> {
  for (let slot = FIRST_SLOT; slot <= LAST_SLOT; slot++) {
    const release = lockSlot(slot);
    if (!release) continue;
    const servers = new PrivateServers(portsOfSlot(slot), slot, log);
    try {
      await servers.startFresh();
    } catch (error) {
      await servers.stopAll().catch(() => undefined);
      release();
      throw error;
    }
    return {
      servers,
      env: {
        KAFKA_BROKERS: servers.kafkaBrokers,
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(servers.ports.redis),
        DB_HOST: '127.0.0.1',
        DB_PORT: String(servers.ports.postgres),
        DB_NAME: servers.database,
      },
      async stop() {
        try {
          await servers.stopAll();
          servers.removeData();
        } finally {
          release();
        }
      },
    };
  }
  throw new Error(`every private slot ${FIRST_SLOT}-${LAST_SLOT} is in use (see ~/.cache/payments-system/chaos/slot-*.lock)`);
}
