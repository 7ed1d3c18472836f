import { AppError } from '../errors/app-error.js';

export enum WebhookErrorCode {
  WebhookEndpointNotFound = 'webhook_endpoint_not_found',
  WebhookUrlInvalid = 'webhook_url_invalid',
  WebhookUrlForbidden = 'webhook_url_forbidden',
  EventNotFound = 'event_not_found',
  WebhooksUnavailable = 'webhooks_unavailable',
}

export class WebhookError extends AppError<WebhookErrorCode> {}
