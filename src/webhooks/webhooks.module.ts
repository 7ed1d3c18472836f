import { Module } from '@nestjs/common';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';
import { WebhookEndpointsRepository } from './webhook-endpoints.repository.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { WebhookEventsController } from './webhook-events.controller.js';
import { WebhookEventsService } from './webhook-events.service.js';
import { WebhookIngest } from './webhook-ingest.js';
import { webhookSettingsProvider } from './webhook-settings.js';
import { WebhooksConsumer } from './webhooks.consumer.js';
import { WebhooksRepository } from './webhooks.repository.js';

/**
 * Webhooks and the events API: the `webhooks` stage stores every outcome as its merchant's event and
 * deliveries (WebhooksConsumer, WebhookIngest); the delivery workers send them, signed (WebhookDispatcher).
 */
@Module({
  controllers: [WebhookEndpointsController, WebhookEventsController, WebhooksConsumer],
  providers: [webhookSettingsProvider, WebhooksRepository, WebhookEndpointsRepository, WebhookIngest, WebhookDispatcher, WebhookEndpointsService, WebhookEventsService],
  exports: [WebhookIngest],
})
export class WebhooksModule {}
