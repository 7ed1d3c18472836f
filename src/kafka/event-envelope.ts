import { randomUUID } from 'node:crypto';

/** Version 1 of the JSON envelope every payment event travels in. */
export interface EventEnvelope<TPayload = Record<string, unknown>> {
  specVersion: 1;
  eventId: string;
  type: string;
  paymentId: string;
  occurredAt: string;
  correlationId: string;
  payload: TPayload;
}

export function createEnvelope<TPayload>(
  type: string,
  paymentId: string,
  payload: TPayload,
  correlationId: string,
  now: Date = new Date(),
): EventEnvelope<TPayload> {
  return { specVersion: 1, eventId: randomUUID(), type, paymentId, occurredAt: now.toISOString(), correlationId, payload };
}
