import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { ApiError } from '../http/api-error.js';
import { EventPublisher } from '../kafka/event-publisher.js';
import type { DeadLetter, DeadLetterSink } from '../kafka/kafka-stage.server.js';
import { PermanentEventError } from '../kafka/stage-batch.js';
import { asPaymentEvent } from '../payments/payment-events.js';
import { PaymentLifecycle } from '../payments/payment-lifecycle.service.js';
import { DeadLetterRecord } from './dead-letter.entity.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keeps every dead letter in PostgreSQL (listing, replay) and ends its payment FAILED, so that every
 * accepted payment still reaches exactly one terminal state.
 */
@Injectable()
export class DeadLettersService implements DeadLetterSink {
  private readonly logger = new Logger(DeadLettersService.name);

  constructor(
    @InjectRepository(DeadLetterRecord) private readonly letters: Repository<DeadLetterRecord>,
    private readonly lifecycle: PaymentLifecycle,
    private readonly publisher: EventPublisher,
  ) {}

  async record(letter: DeadLetter): Promise<void> {
    await this.letters
      .createQueryBuilder()
      .insert()
      .values({
        id: randomUUID(),
        topic: letter.topic,
        partition: letter.partition,
        offset: letter.offset,
        messageKey: letter.key,
        messageValue: letter.value,
        headers: letter.headers,
        paymentId: letter.envelope && UUID.test(letter.envelope.paymentId) ? letter.envelope.paymentId : null,
        error: `${letter.error.name}: ${letter.error.message}`,
        attempts: letter.attempts,
      })
      // The same source message dead-lettered again (after a crash before its commit) is kept once.
      .orIgnore()
      .execute();
    if (!letter.envelope) return;
    let payment;
    try {
      payment = asPaymentEvent(letter.envelope);
    } catch {
      this.logger.warn(`Dead letter at ${letter.topic}[${letter.partition}]@${letter.offset} names no usable payment; kept for inspection only`);
      return;
    }
    const reason = letter.error instanceof PermanentEventError ? 'MALFORMED_EVENT' : 'PROCESSING_FAILED';
    await this.lifecycle.finish(payment, { status: 'FAILED', stage: 'dead-letter', reason, detail: { error: letter.error.message } });
  }

  list(limit: number): Promise<DeadLetterRecord[]> {
    return this.letters.find({ order: { createdAt: 'DESC' }, take: limit });
  }

  /** Publishes the original record to its topic again; stages skip a payment that has already ended. */
  async replay(id: string): Promise<DeadLetterRecord> {
    const letter = UUID.test(id) ? await this.letters.findOneBy({ id }) : null;
    if (!letter) throw ApiError.notFound('dead_letter_not_found', `No dead letter ${id}.`);
    await this.publisher.publishRecords([
      {
        topic: letter.topic,
        key: letter.messageKey,
        value: letter.messageValue,
        headers: { ...withoutDeadLetterHeaders(letter.headers), 'x-replayed-dead-letter': letter.id },
      },
    ]);
    letter.replayedAt = new Date();
    await this.letters.save(letter);
    return letter;
  }
}

function withoutDeadLetterHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('kafka_dlt-') && !name.startsWith('retry_topic-')));
}
