import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventPublisher } from '../kafka/event-publisher.js';
import { KafkaModule } from '../kafka/kafka.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { PaymentStateStore } from '../state/payment-state.store.js';
import { StateModule } from '../state/state.module.js';
import { BacklogMetrics } from './backlog.metrics.js';
import { PaymentLifecycle } from './payment-lifecycle.js';
import { PaymentRecord } from './payment-record.entity.js';
import { PaymentRecords } from './payment-records.repository.js';
import { RefundLifecycle } from './refund-lifecycle.js';
import { RefundRecord } from './refund-record.entity.js';
import { RefundRecords } from './refund-records.repository.js';
import { EventBus, PaymentView } from './ports.js';
import { TopicProvisioner } from './topic-provisioner.js';

/**
 * The pipeline core: the lifecycle every stage's batch goes through, the one writer of the payments
 * table, and the ports bound to their adapters (Kafka for events, the Redis Streams view). The
 * intake, the stages and the dead letters import it; it imports only platform modules.
 */
@Module({
  imports: [TypeOrmModule.forFeature([PaymentRecord, RefundRecord]), KafkaModule, RedisModule, StateModule],
  providers: [
    PaymentLifecycle,
    RefundLifecycle,
    PaymentRecords,
    RefundRecords,
    TopicProvisioner,
    BacklogMetrics,
    { provide: EventBus, useExisting: EventPublisher },
    { provide: PaymentView, useExisting: PaymentStateStore },
  ],
  exports: [PaymentLifecycle, RefundLifecycle, PaymentRecords, RefundRecords, EventBus, PaymentView],
})
export class PipelineModule {}
