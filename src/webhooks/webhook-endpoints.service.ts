import { Inject, Injectable, Logger } from '@nestjs/common';
import { unavailableUnless } from '../errors/app-error.js';
import type { CreateWebhookEndpointRequest } from './dto/create-webhook-endpoint.request.js';
import { WebhookEndpointsRepository, type DeliveryView, type WebhookEndpoint } from './webhook-endpoints.repository.js';
import { WebhookError, WebhookErrorCode } from './webhook-errors.js';
import { WEBHOOK_SETTINGS, type WebhookSettings } from './webhook-settings.js';
import { newSigningSecret } from './webhook-signature.js';
import { checkWebhookUrl, resolveAllowed } from './webhook-url.js';

/** DNS answers that say "not (yet) resolvable", not "forbidden". */
const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ENODATA', 'ESERVFAIL']);

/** Of the endpoint's deliveries, how many GET …/deliveries lists. */
const DELIVERIES_LISTED = 100;

/** A merchant's webhook endpoints: created with a signing secret shown once, listed without it, deleted, rotated. */
@Injectable()
export class WebhookEndpointsService {
  private readonly logger = new Logger(WebhookEndpointsService.name);

  constructor(
    private readonly repository: WebhookEndpointsRepository,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  async create(merchantId: string, request: CreateWebhookEndpointRequest): Promise<WebhookEndpoint & { secret: string }> {
    const checked = checkWebhookUrl(request.url);
    if ('error' in checked) throw new WebhookError(WebhookErrorCode.WebhookUrlInvalid, `${checked.error}.`, { param: 'url' });
    // Refused now if it resolves to a forbidden address; a name that does not resolve yet is taken,
    // since every delivery checks the address it connects to again.
    if (!this.settings.allowPrivateUrls) {
      try {
        await resolveAllowed(checked.url.hostname, false);
      } catch (error) {
        if (!DNS_FAILURES.has((error as NodeJS.ErrnoException).code ?? '')) {
          throw new WebhookError(WebhookErrorCode.WebhookUrlForbidden, `${(error as Error).message}.`, { param: 'url' });
        }
      }
    }
    const secret = newSigningSecret();
    const events = [...new Set(request.events)];
    const endpoint = await this.unavailableUnless(() =>
      this.repository.createEndpoint({ merchantId, url: checked.url.toString(), events, description: request.description ?? null, secret }),
    );
    return { ...endpoint, secret };
  }

  list(merchantId?: string): Promise<WebhookEndpoint[]> {
    return this.unavailableUnless(() => this.repository.endpoints(merchantId));
  }

  async delete(id: string, merchantId?: string): Promise<void> {
    await this.endpointOrNotFound(id, merchantId);
    await this.unavailableUnless(() => this.repository.deleteEndpoint(id));
  }

  /** A new secret, from the next attempt on; the old one stops working at once. */
  async rotateSecret(id: string, merchantId?: string): Promise<WebhookEndpoint & { secret: string }> {
    const endpoint = await this.endpointOrNotFound(id, merchantId);
    const secret = newSigningSecret();
    await this.unavailableUnless(() => this.repository.rotateSecret(id, secret));
    return { ...endpoint, secret };
  }

  async deliveries(id: string, merchantId?: string): Promise<DeliveryView[]> {
    await this.endpointOrNotFound(id, merchantId);
    return this.unavailableUnless(() => this.repository.deliveries(id, DELIVERIES_LISTED));
  }

  private async endpointOrNotFound(id: string, merchantId?: string): Promise<WebhookEndpoint> {
    const endpoint = await this.unavailableUnless(() => this.repository.endpoint(id, merchantId));
    if (!endpoint) throw new WebhookError(WebhookErrorCode.WebhookEndpointNotFound, `No webhook endpoint ${id}.`);
    return endpoint;
  }

  private unavailableUnless<T>(call: () => Promise<T>): Promise<T> {
    return unavailableUnless(
      call,
      (retry) => new WebhookError(WebhookErrorCode.WebhooksUnavailable, undefined, retry),
      (message) => this.logger.warn(`Webhooks: PostgreSQL unavailable: ${message}`),
    );
  }
}
