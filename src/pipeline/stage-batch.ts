import type { EventEnvelope } from './event-envelope.js';

/** One event of a stage batch, with where it came from; batches hold them in offset order. */
export interface StageMessage {
  envelope: EventEnvelope<unknown>;
  topic: string;
  partition: number;
  offset: string;
  /** The partitioning key (the payer's userId): events of one key are applied in offset order. */
  key: string | null;
  headers: Record<string, string>;
  /** The record's bytes as they arrived (a dead letter keeps them). */
  value: string;
  /** 1 on first delivery; higher while the transport retries this event. */
  attempt: number;
}

/**
 * What a stage decided for one event of its batch:
 * - `step`: an effect for the pipeline core to apply (advance to the next topic, finish, announce);
 * - `skip`: nothing to do (the payment already ended);
 * - `retry`: a transient failure, tried again with backoff (and the key's later events wait for it);
 * - `dead-letter`: no retry can help (a malformed event), sent to `<topic>-dlt` at once.
 */
export type StageOutcome<Step = unknown> =
  | { kind: 'step'; step: Step }
  | { kind: 'skip' }
  | { kind: 'retry'; error: Error; /** Not failed itself: waits behind an earlier event of its key. */ heldBack?: true }
  | { kind: 'dead-letter'; error: Error };

/** A step together with the event it answers. */
export interface DecidedStep<Step = unknown> {
  message: StageMessage;
  step: Step;
}

/**
 * The pipeline core as the transport sees it (implemented by PaymentLifecycle): a constant number of
 * round trips per batch, whatever its size.
 */
export interface StageEffects<Step = unknown> {
  /** Which of these payments already ended (one Redis call); Redis away: none, and the stages' own guards decide. */
  finished(paymentIds: string[]): Promise<ReadonlySet<string>>;
  /** Applies a batch's steps together (terminal rows, one acks=all produce, one state-append call); throws if any failed. */
  apply(steps: DecidedStep<Step>[]): Promise<void>;
}

/** A failure that no retry can fix (a malformed event): it goes to the dead-letter topic at once. */
export class PermanentEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentEventError';
  }
}

/**
 * Holds back what must wait: once one event of a key is to be retried, that key's later events of the
 * batch are retried after it (their decisions are dropped), so one payer's events apply in offset order.
 */
export function holdBackBehindRetries<Step>(messages: StageMessage[], outcomes: StageOutcome<Step>[]): StageOutcome<Step>[] {
  const waiting = new Map<string | null, Error>();
  return outcomes.map((outcome, i) => {
    const key = messages[i].key;
    const earlier = waiting.get(key);
    if (earlier) return { kind: 'retry', error: earlier, heldBack: true };
    if (outcome.kind === 'retry') waiting.set(key, outcome.error);
    return outcome;
  });
}

/**
 * A stage batch as the events a stage understands: a message `parse` refuses (a PermanentEventError)
 * ends as a dead letter at once, and `decide` gets the others, in offset order, answering one outcome each.
 */
export async function decideEach<Event, Step>(
  batch: StageMessage[],
  parse: (envelope: EventEnvelope<unknown>) => Event,
  decide: (events: Event[]) => Promise<StageOutcome<Step>[]>,
): Promise<StageOutcome<Step>[]> {
  const outcomes = new Array<StageOutcome<Step>>(batch.length);
  const events: Event[] = [];
  const positions: number[] = [];
  batch.forEach((message, i) => {
    try {
      events.push(parse(message.envelope));
      positions.push(i);
    } catch (error) {
      if (!(error instanceof PermanentEventError)) throw error;
      outcomes[i] = { kind: 'dead-letter', error };
    }
  });
  const decided = events.length > 0 ? await decide(events) : [];
  positions.forEach((position, j) => (outcomes[position] = decided[j]));
  return outcomes;
}
