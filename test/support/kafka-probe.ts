import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../src/config/app-config.js';
import type { EventEnvelope } from '../../src/pipeline/event-envelope.js';

/** Reads a topic of the app from its beginning, so tests can assert on what really reached Kafka. */
export class KafkaProbe {
  readonly events: { envelope: EventEnvelope | null; raw: string; key: string; headers: Record<string, string> }[] = [];
  private readonly consumer: Consumer;

  private constructor(
    private readonly topic: string,
    config: AppConfig,
  ) {
    const kafka = new Kafka({ clientId: 'e2e-probe', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    this.consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}probe-${randomUUID()}`, maxWaitTimeInMs: 100 });
  }

  static async start(config: AppConfig, logicalTopic: string): Promise<KafkaProbe> {
    const probe = new KafkaProbe(`${config.kafka.topicPrefix}${logicalTopic}`, config);
    await probe.consumer.connect();
    await probe.consumer.subscribe({ topics: [probe.topic], fromBeginning: true });
    await probe.consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        const raw = String(message.value);
        probe.events.push({ envelope: parseOrNull(raw), raw, key: String(message.key), headers });
      },
    });
    return probe;
  }

  /**
   * Events whose payload matches, once at least `atLeast` of them have arrived; throws when they have
   * not within timeoutMs (a quiet return would let a test go on with too few). Absence is proven with
   * a marker event, not with this.
   */
  async waitFor(
    match: (envelope: EventEnvelope) => boolean,
    { atLeast = 1, timeoutMs = 15000 } = {},
  ): Promise<EventEnvelope[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.flatMap((e) => (e.envelope ? [e.envelope] : [])).filter(match);
      if (found.length >= atLeast) return found;
      if (Date.now() > deadline) throw new Error(`${this.topic}: ${found.length} matching event(s) after ${timeoutMs} ms, expected at least ${atLeast}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Dead-letter topics also carry records that are not JSON at all. */
function parseOrNull(raw: string): EventEnvelope | null {
  try {
    return JSON.parse(raw) as EventEnvelope;
  } catch {
    return null;
  }
}
