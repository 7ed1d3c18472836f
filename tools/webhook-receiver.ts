/**
 * A real HTTP receiver of webhooks, for the e2e suite and `npm run chaos`: it records every request
 * and answers what `answer` says (by the request's index, so a test can fail the first ones), and
 * verifies what it got with the `standardwebhooks` package, as a merchant would.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered (once it has). */
  answered?: number;
  /** Checked on arrival (verifyOnArrival): the event, or why its signature did not verify. */
  verification?: { event: VerifiedWebhook } | { error: string };
}

export interface VerifiedWebhook {
  id: string;
  type: string;
  created: string;
  data: { object: Record<string, unknown> };
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server?: Server;
  private arrivalCheck?: Webhook;

  constructor(private answer: (index: number) => number | Promise<number> = () => 200) {}

  /** Listens on 127.0.0.1 (`port` 0: a free one); returns the URL to subscribe. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received: ReceivedWebhook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        if (this.arrivalCheck) received.verification = verification(this.arrivalCheck, received);
        this.received.push(received);
        void Promise.resolve(this.answer(this.received.length - 1)).then((status) => {
          received.answered = status;
          res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** From now on, answer so (a receiver that goes down answers 503, a slow one after a while). */
  answerWith(answer: (index: number) => number | Promise<number>): void {
    this.answer = answer;
  }

  /**
   * Verifies every request as it arrives, as a merchant's receiver does (and must: a signature's
   * timestamp is only accepted for 5 minutes), those that came before too.
   */
  verifyOnArrival(secret: string): void {
    this.arrivalCheck = new Webhook(secret);
    for (const r of this.received) r.verification ??= verification(this.arrivalCheck, r);
  }

  /** What verifyOnArrival found: the events, and the requests that did not verify. */
  checkedOnArrival(): { events: VerifiedWebhook[]; forged: ReceivedWebhook[] } {
    const events = this.received.flatMap((r) => (r.verification && 'event' in r.verification ? [r.verification.event] : []));
    return { events, forged: this.received.filter((r) => !r.verification || 'error' in r.verification) };
  }

  /** Every request verified with the endpoint's secret (throws on a bad signature). */
  verified(secret: string): VerifiedWebhook[] {
    const webhook = new Webhook(secret);
    return this.received.map((r) => webhook.verify(r.body, r.headers as Record<string, string>) as VerifiedWebhook);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server.closeAllConnections();
  }
}

function verification(webhook: Webhook, received: ReceivedWebhook): ReceivedWebhook['verification'] {
  try {
    return { event: webhook.verify(received.body, received.headers as Record<string, string>) as VerifiedWebhook };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
