import { EventPattern } from '@nestjs/microservices';

/** Extras a stage handler carries; the transport reads them to build one consumer group per stage. */
export interface StageHandlerExtras {
  stage: string;
  /** Drop events of payments that already ended before the handler sees them (default true). */
  skipFinished: boolean;
}

/**
 * Marks a consumer-controller method as the batch handler of one pipeline stage for a topic: it gets
 * an ordered batch of StageMessages (one partition's, or a chunk of it) and returns one StageOutcome
 * per message. Every handler of a stage shares that stage's consumer group, so stages scale and
 * rebalance independently.
 */
export function StageEvent(topic: string, stage: string, options: { skipFinished?: boolean } = {}): MethodDecorator {
  const extras: StageHandlerExtras = { stage, skipFinished: options.skipFinished ?? true };
  return EventPattern<string>(topic, extras);
}
