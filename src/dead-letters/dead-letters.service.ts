import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterError, DeadLetterErrorCode } from './dead-letter-errors.js';
import { DeadLetterSink, EventBus, type DeadLetter } from '../pipeline/ports.js';
import { PermanentEventError } from '../pipeline/stage-batch.js';
import { asPaymentEvent } from '../pipeline/payment-events.js';
import { PaymentLifecycle } from '../pipeline/payment-lifecycle.js';
import { asRefundEvent, REFUND_EVENT_TYPES } from '../pipeline/refund-events.js';
import { RefundLifecycle } from '../pipeline/refund-lifecycle.js';
import { TOPICS } from '../pipeline/stages.js';
import type { DeadLetterRecord } from './dead-letter.entity.js';
import { DeadLettersRepository } from './dead-letters.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keeps every dead letter in PostgreSQL (listing, replay) and ends its payment FAILED, so that every
 * accepted payment still reaches exactly one terminal state.
 */
@Injectable()
export class DeadLettersService implements DeadLetterSink {
  private readonly logger = new Logger(DeadLettersService.name);

  constructor(
    private readonly letters: DeadLettersRepository,
    private readonly lifecycle: PaymentLifecycle,
    private readonly refunds: RefundLifecycle,
    private readonly publisher: EventBus,
  ) {}

  async record(letter: DeadLetter): Promise<void> {
    await this.letters.add({
      topic: letter.topic,
      partition: letter.partition,
      offset: letter.offset,
      messageKey: letter.key,
      messageValue: letter.value,
      headers: letter.headers,
      paymentId: letter.envelope && UUID.test(letter.envelope.paymentId) ? letter.envelope.paymentId : null,
      error: `${letter.error.name}: ${letter.error.message}`,
      attempts: letter.attempts,
    });
    // An outcome the webhooks stage could not store: kept for replay; the payment or refund itself has ended.
    if (!letter.envelope || OUTCOME_TOPICS.some((topic) => letter.topic.endsWith(topic))) return;
    const reason = letter.error instanceof PermanentEventError ? 'MALFORMED_EVENT' : 'PROCESSING_FAILED';
    if (letter.envelope.type === REFUND_EVENT_TYPES.requested) return this.failRefund(letter, reason);
    let payment;
    try {
      payment = asPaymentEvent(letter.envelope);
    } catch {
      this.logger.warn(`Dead letter at ${letter.topic}[${letter.partition}]@${letter.offset} names no usable payment; kept for inspection only`);
      return;
    }
    await this.lifecycle.finish(payment, { status: 'FAILED', stage: 'dead-letter', reason, detail: { error: letter.error.message } });
  }

  /** A refund's dead letter ends the refund FAILED (no money moved), unless it already has an outcome. */
  private async failRefund(letter: DeadLetter, reason: string): Promise<void> {
    let refund;
    try {
      refund = asRefundEvent(letter.envelope!);
    } catch {
      this.logger.warn(`Dead letter at ${letter.topic}[${letter.partition}]@${letter.offset} names no usable refund; kept for inspection only`);
      return;
    }
    await this.refunds.fail(refund, reason);
  }

  list(limit: number): Promise<DeadLetterRecord[]> {
    return this.letters.newestFirst(limit);
  }

  /** Publishes the original record to its topic again; stages skip a payment that has already ended. */
  async replay(id: string): Promise<DeadLetterRecord> {
    const letter = UUID.test(id) ? await this.letters.findById(id) : null;
    if (!letter) throw new DeadLetterError(DeadLetterErrorCode.DeadLetterNotFound, `No dead letter ${id}.`);
    await this.publisher.publishRecords([
      {
        topic: letter.topic,
        key: letter.messageKey,
        value: letter.messageValue,
        headers: { ...withoutDeadLetterHeaders(letter.headers), 'x-replayed-dead-letter': letter.id },
      },
    ]);
    await this.letters.markReplayed(letter, new Date());
    return letter;
  }
}

const OUTCOME_TOPICS = [TOPICS.finalized, TOPICS.refundFinalized];

function withoutDeadLetterHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('kafka_dlt-') && !name.startsWith('retry_topic-')));
}
