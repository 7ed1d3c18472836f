import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while handling one request, or one stage batch, carries. */
export interface LogContext {
  /** The request's, or (in a stage) that of the one payment a line is about. */
  correlationId?: string;
  paymentId?: string;
  /** In a stage: which one, and which batch (`topic[partition]@first-last`). */
  stage?: string;
  batch?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` with this context; log lines written anywhere inside it carry the ids. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Names the payment of the request being handled, once it is known (the intake makes the id). */
export function setLogPaymentId(paymentId: string): void {
  const context = storage.getStore();
  if (context) context.paymentId = paymentId;
}
