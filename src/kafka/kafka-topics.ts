import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/**
 * Spring Kafka's dead-letter naming, so Kafka users find them where they expect. There are no
 * `-retry` topics: stages retry in place, because a retry topic would reorder one payer's payments.
 */
export const deadLetterTopicOf = (topic: string): string => `${topic}-dlt`;

/**
 * Maps the logical topic names used in code and decorators to the physical names on the cluster
 * (with the deployment's prefix), and back.
 */
@Injectable()
export class KafkaTopics {
  private readonly prefix: string;

  constructor(config: AppConfig) {
    this.prefix = config.kafka.topicPrefix;
  }

  physical(logical: string): string {
    return `${this.prefix}${logical}`;
  }

  logical(physical: string): string {
    return this.prefix && physical.startsWith(this.prefix) ? physical.slice(this.prefix.length) : physical;
  }

  consumerGroup(stage: string): string {
    return `${this.prefix}payments-${stage}`;
  }
}
