import { Global, Module } from '@nestjs/common';
import { EventPublisher } from './event-publisher.js';
import { KafkaTopics } from './kafka-topics.js';
import { TopicProvisioner } from './topic-provisioner.js';

@Global()
@Module({
  providers: [KafkaTopics, EventPublisher, TopicProvisioner],
  exports: [KafkaTopics, EventPublisher],
})
export class KafkaModule {}
