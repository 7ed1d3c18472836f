import type { OutgoingEvent, OutgoingRecord } from '../kafka/event-publisher.js';
import type { EventEnvelope } from './event-envelope.js';

export { EventPublishError, type OutgoingEvent, type OutgoingRecord } from '../kafka/event-publisher.js';
export { PaymentView } from './payment-view.js';

/**
 * The ports of the pipeline core: what the intake, the stages and the dead letters need from the
 * outside, as abstract classes that double as Nest injection tokens. PipelineModule binds them to
 * Kafka and Redis; unit specs hand in fakes.
 */

/** Durable publication: resolves once every event is acknowledged by all in-sync replicas, else throws EventPublishError. */
export abstract class EventBus {
  abstract publish(events: OutgoingEvent[]): Promise<void>;
  /** Records that are not our envelopes (a dead letter's original bytes). */
  abstract publishRecords(records: OutgoingRecord[]): Promise<void>;
}

/** A message a stage gave up on, as it goes to the dead-letter topic and to the DeadLetterSink. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** The parsed envelope, when the message was one. */
  envelope: EventEnvelope<unknown> | null;
  error: Error;
  attempts: number;
  consumerGroup: string;
}

/** What happens to a dead letter beyond the -dlt topic (kept for listing and replay, payment ended FAILED). */
export abstract class DeadLetterSink {
  abstract record(letter: DeadLetter): Promise<void>;
}
