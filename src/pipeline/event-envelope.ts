import { createHash, randomUUID } from 'node:crypto';

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
  eventId: string = randomUUID(),
): EventEnvelope<TPayload> {
  return { specVersion: 1, eventId, type, paymentId, occurredAt: now.toISOString(), correlationId, payload };
}

/**
 * The id of "payment X reached step Y", the same every time a stage redoes that step after a
 * redelivery, so that consumers (and the state module) can drop the repeat.
 */
export function stepEventId(paymentId: string, type: string): string {
  const hex = createHash('sha256').update(`${paymentId}/${type}`).digest('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join('-');
}

/** The envelope if the bytes are one (version 1, with the fields every stage relies on); otherwise null. */
export function parseEnvelope(value: string): EventEnvelope | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  const e = parsed as Partial<EventEnvelope> | null;
  const valid =
    e !== null &&
    typeof e === 'object' &&
    e.specVersion === 1 &&
    typeof e.eventId === 'string' &&
    typeof e.type === 'string' &&
    typeof e.paymentId === 'string' &&
    typeof e.correlationId === 'string' &&
    typeof e.payload === 'object' &&
    e.payload !== null;
  return valid ? (e as EventEnvelope) : null;
}
