import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { checkWebhookUrl, resolveAllowed } from './webhook-url.js';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  /** How much of the merchant's answer is kept for the delivery record; default 1024. */
  maxResponseBytes?: number;
}

export interface WebhookResponse {
  /** The merchant's status, or null when no complete answer came (then `error` says why). */
  statusCode: number | null;
  durationMs: number;
  error?: string;
  bodyExcerpt?: string;
}

const DEFAULT_MAX_RESPONSE_BYTES = 1024;
const USER_AGENT = 'payments-system-webhooks/1';

/**
 * The socket's DNS lookup, checked: the addresses refused here are the ones the connection would use, so a name that
 * resolved to a public address when the merchant registered it and to 127.0.0.1 now (DNS rebinding) is still refused.
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    resolveAllowed(hostname, allowPrivate).then(
      (resolved) => {
        const addresses = family === 0 ? resolved : resolved.filter((a) => a.family === family);
        if (addresses.length === 0) return callback(Object.assign(new Error(`webhook host ${hostname} has no IPv${family} address`), { code: 'ENOTFOUND' }), '');
        // net asks for all addresses when it races them (autoSelectFamily), else for one.
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}

/**
 * Delivers one webhook: a single POST, no redirects followed (a 3xx is the merchant's answer), bounded in time and in how
 * much of the answer is read. Never throws: every failure is a result with statusCode null and an error.
 */
export async function sendWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const failed = (error: string): WebhookResponse => ({ statusCode: null, durationMs: performance.now() - started, error });
  const checked = checkWebhookUrl(request.url);
  if ('error' in checked) return failed(checked.error);
  const { url } = checked;
  // net connects to an IP literal without calling the lookup, so a literal is checked here.
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) {
    try {
      await resolveAllowed(url.hostname, request.allowPrivate);
    } catch (error) {
      return failed((error as Error).message);
    }
  }
  const maxResponseBytes = Math.max(0, request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);

  return new Promise<WebhookResponse>((resolve) => {
    let settled = false;
    const finish = (result: Omit<WebhookResponse, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: performance.now() - started });
    };

    const options: http.RequestOptions = {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT, ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
      lookup: guardedLookup(request.allowPrivate),
      // A pooled socket would skip the lookup (and its check) and could be shared with a request allowed to reach private hosts.
      agent: false,
    };
    let outgoing: http.ClientRequest | undefined;
    // One deadline for everything: DNS, connect, the merchant's processing and reading the answer.
    const timer = setTimeout(() => {
      const error = `timeout after ${request.timeoutMs} ms`;
      finish({ statusCode: null, error });
      outgoing?.destroy(new Error(error));
    }, request.timeoutMs);
    try {
      outgoing = (url.protocol === 'https:' ? https : http).request(url, options, (incoming) => readExcerpt(incoming, maxResponseBytes, finish));
    } catch (error) {
      // A configured header HTTP cannot carry (a newline in a value) throws here, before any connection.
      return finish({ statusCode: null, error: (error as Error).message });
    }
    // An AggregateError (every address of the host refused the connection) has an empty message but a code.
    outgoing.on('error', (error: NodeJS.ErrnoException) => finish({ statusCode: null, error: error.message || (error.code ?? 'request failed') }));
    outgoing.end(request.body);
  });
}

/** Reads the answer up to maxResponseBytes, then hangs up: the rest is not worth the bandwidth, and with agent: false the socket is ours alone. */
function readExcerpt(incoming: http.IncomingMessage, maxResponseBytes: number, finish: (result: Omit<WebhookResponse, 'durationMs'>) => void): void {
  const statusCode = incoming.statusCode ?? null;
  // The decoder holds back a character cut in half at the limit instead of producing a replacement character.
  const decoder = new StringDecoder('utf8');
  let excerpt = '';
  let received = 0;
  const keepWhatWasRead = (): void => {
    finish({ statusCode, bodyExcerpt: excerpt });
    incoming.destroy();
  };
  incoming.on('data', (chunk: Buffer) => {
    const wanted = chunk.subarray(0, maxResponseBytes - received);
    received += wanted.length;
    excerpt += decoder.write(wanted);
    if (received >= maxResponseBytes) keepWhatWasRead();
  });
  incoming.on('end', () => finish({ statusCode, bodyExcerpt: excerpt + decoder.end() }));
  incoming.on('error', (error) => finish({ statusCode: null, error: error.message }));
  // Only reached first when the server hung up mid-answer without an error event.
  incoming.on('close', () => finish({ statusCode: null, error: 'connection closed before the response ended' }));
  if (maxResponseBytes === 0) keepWhatWasRead();
}
