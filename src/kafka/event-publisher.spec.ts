import { describe, expect, it } from '@jest/globals';
import type { Producer } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EventPublishError, EventPublisher } from './event-publisher.js';
import { KafkaTopics } from './kafka-topics.js';

/** A kafkajs producer whose sendBatch answers are scripted, one per call. */
class FakeProducer {
  readonly sent: string[][] = [];
  disconnected = false;
  constructor(private readonly answers: (() => Promise<unknown>)[]) {}
  connect = async () => undefined;
  disconnect = async () => {
    this.disconnected = true;
  };
  on = () => () => undefined;
  sendBatch = ({ topicMessages }: { topicMessages: { messages: { value: string }[] }[] }) => {
    this.sent.push(topicMessages.flatMap((t) => t.messages.map((m) => m.value)));
    const answer = this.answers.shift();
    return answer ? answer() : Promise.resolve([]);
  };
}

/** The publisher with fake producers, handed out in order as it creates them. */
function publisherWith(producers: FakeProducer[], timeoutMs = 200) {
  const config = AppConfig.fromEnvironment({ KAFKA_PUBLISH_TIMEOUT_MS: String(timeoutMs) });
  const queue = [...producers];
  class TestPublisher extends EventPublisher {
    protected override createProducer(): Producer {
      const next = queue.shift();
      if (!next) throw new Error('no fake producer left');
      return next as unknown as Producer;
    }
  }
  return new TestPublisher(config, new KafkaTopics(config), new MetricsService());
}

const record = (value: string) => [{ topic: 't', key: 'k', value }];
const never = () => new Promise<never>(() => undefined);

describe('EventPublisher', () => {
  it('keeps one producer while sends succeed', async () => {
    const first = new FakeProducer([]);
    const publisher = publisherWith([first, new FakeProducer([])]);
    await publisher.publishRecords(record('a'));
    await publisher.publishRecords(record('b'));
    expect(first.sent).toEqual([['a'], ['b']]);
    expect(first.disconnected).toBe(false);
  });

  it('sends through a new producer after a send failed, and disconnects the old one', async () => {
    const first = new FakeProducer([() => Promise.reject(new Error('OUT_OF_ORDER_SEQUENCE_NUMBER'))]);
    const second = new FakeProducer([]);
    const publisher = publisherWith([first, second]);

    await expect(publisher.publishRecords(record('a'))).rejects.toMatchObject({ name: 'EventPublishError', timedOut: false });
    await publisher.publishRecords(record('b'));

    expect(first.sent).toEqual([['a']]);
    expect(second.sent).toEqual([['b']]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.disconnected).toBe(true);
  });

  it('retires a producer whose send outlived the deadline, but disconnects it only once that send settled', async () => {
    let settle!: () => void;
    const first = new FakeProducer([() => new Promise<void>((resolve) => (settle = resolve))]);
    const second = new FakeProducer([]);
    const publisher = publisherWith([first, second], 100);

    const late = publisher.publishRecords(record('a'));
    await expect(late).rejects.toBeInstanceOf(EventPublishError);
    await publisher.publishRecords(record('b'));
    expect(second.sent).toEqual([['b']]);
    expect(first.disconnected).toBe(false);

    settle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.disconnected).toBe(true);
  });

  it('never gives a batch to a retired producer, even one still retrying', async () => {
    const first = new FakeProducer([never]);
    const second = new FakeProducer([]);
    const publisher = publisherWith([first, second], 100);
    await expect(publisher.publishRecords(record('a'))).rejects.toBeInstanceOf(EventPublishError);
    await publisher.publishRecords(record('b'));
    await publisher.publishRecords(record('c'));
    expect(first.sent).toEqual([['a']]);
    expect(second.sent).toEqual([['b'], ['c']]);
  });
});
