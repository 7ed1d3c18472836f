import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The id that follows a payment from the HTTP request through Kafka headers to every stage: the
 * caller's W3C traceparent trace id or X-Request-Id when well-formed, otherwise a new one.
 */
export function correlationIdOf(headers: Record<string, string | string[] | undefined>): string {
  const traceparent = single(headers['traceparent']);
  const traceId = traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  if (traceId) return traceId;
  const requestId = single(headers['x-request-id']);
  if (requestId && SAFE_ID.test(requestId)) return requestId;
  return randomUUID();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
