import { Module } from '@nestjs/common';
import { EventPublisher } from './event-publisher.js';
import { KafkaTopics } from './kafka-topics.js';

/** The app's one idempotent producer and the topic naming of the deployment. */
@Module({
  providers: [KafkaTopics, EventPublisher],
  exports: [KafkaTopics, EventPublisher],
})
export class KafkaModule {}
