import { EventPattern } from '@nestjs/microservices';

/** Extras a stage handler carries; the transport reads them to build one consumer group per stage. */
export interface StageHandlerExtras {
  stage: string;
}

/**
 * Marks a consumer-controller method as the handler of one pipeline stage for a topic. Every handler of
 * a stage shares that stage's consumer group, so stages scale and rebalance independently.
 */
export function StageEvent(topic: string, stage: string): MethodDecorator {
  const extras: StageHandlerExtras = { stage };
  return EventPattern<string>(topic, extras);
}
