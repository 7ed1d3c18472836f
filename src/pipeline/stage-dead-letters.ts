import { Logger } from '@nestjs/common';
import { deadLetterTopicOf } from '../kafka/kafka-topics.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { DeadLetter, DeadLetterSink, EventBus } from './ports.js';

/**
 * Where a stage's given-up events go: Spring Kafka's `<topic>-dlt` with its headers (one produce for
 * the lot), then the DeadLetterSink (kept for listing and replay, the payment ended FAILED). The
 * transport calls it for malformed events at once and for events past their last attempt.
 */
export class StageDeadLetters {
  private readonly log = new Logger('KafkaStageServer');

  constructor(
    private readonly publisher: EventBus,
    private readonly sink: DeadLetterSink,
    private readonly metrics: Pick<MetricsService, 'deadLettered'>,
  ) {}

  /** Publishes the original records to `<topic>-dlt` with Spring Kafka's headers (one produce), then hands each to the sink. */
  async send(letters: DeadLetter[]): Promise<void> {
    for (const letter of letters) {
      this.log.error(`${letter.topic}[${letter.partition}]@${letter.offset} dead-lettered after ${letter.attempts} attempt(s): ${letter.error.message}`);
    }
    await this.publisher.publishRecords(
      letters.map((letter) => ({
        topic: deadLetterTopicOf(letter.topic),
        key: letter.key,
        value: letter.value,
        headers: {
          ...letter.headers,
          'kafka_dlt-original-topic': letter.topic,
          'kafka_dlt-original-partition': String(letter.partition),
          'kafka_dlt-original-offset': letter.offset,
          'kafka_dlt-original-consumer-group': letter.consumerGroup,
          'kafka_dlt-exception-fqcn': letter.error.name,
          'kafka_dlt-exception-message': letter.error.message.slice(0, 1000),
          'retry_topic-attempts': String(letter.attempts),
        },
      })),
    );
    for (const letter of letters) {
      this.metrics.deadLettered(letter.topic);
      await this.sink.record(letter);
    }
  }
}
