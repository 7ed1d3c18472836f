import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { type AppConfig } from './config/app-config.js';
import { ERROR_CATALOG } from './error-catalog.js';
import { errorResponse } from './errors/error-response.js';
import { ApiExceptionFilter } from './http/api-exception.filter.js';
import { replyWithError } from './http/error-reply.js';
import { HttpErrorCode, RequestError } from './http/http-errors.js';
import { ApiValidationPipe } from './http/validation.pipe.js';
import { clientErrorHandler, frameworkErrorHandler } from './http/client-error.js';
import { correlationIdOf } from './http/correlation-id.js';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import { pinoLevel } from './logging/pino-options.js';
import { withLogContext } from './logging/log-context.js';
import { DeadLetterSink, EventBus } from './pipeline/ports.js';
import { createKafka } from './kafka/kafka-client.factory.js';
import { KafkaStageServer } from './pipeline/stage-server.js';
import { rolesOf } from './pipeline/stages.js';
import { PaymentLifecycle } from './pipeline/payment-lifecycle.js';
import { WebhookIngest } from './webhooks/webhook-ingest.js';
import { RefundLifecycle } from './pipeline/refund-lifecycle.js';
import { KafkaTopics } from './kafka/kafka-topics.js';
import { installHttpMetrics } from './metrics/http-metrics.js';
import { MetricsService } from './metrics/metrics.service.js';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { assertApiKeysConfigured, installHttpSecurity } from './auth/http-security.js';
import { REDIS } from './redis/redis.module.js';
import { installConsoleAssets } from './ops/console-assets.js';

/** Payment bodies are small; anything much larger is a mistake or an attack. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Builds the whole app (HTTP and Kafka consumers) without listening; main.ts and the e2e tests share it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  // An unknown role is a configuration error, found before anything connects anywhere.
  const roles = rolesOf(config.appRoles);
  assertApiKeysConfigured(config, roles.api);
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Reject JSON with __proto__ / constructor.prototype keys outright (prototype poisoning).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Not even HTTP (Node's parser refused it): still the API's JSON error shape.
    clientErrorHandler: clientErrorHandler(ERROR_CATALOG),
    frameworkErrors: frameworkErrorHandler(ERROR_CATALOG),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    // Lines written while the modules start wait for pino (below), so every line has one format.
    bufferLogs: true,
    // Fastify's own JSON parser (with its prototype-poisoning guards) and nothing else: Nest's
    // defaults would also accept url-encoded forms, which a JSON API should answer with 415.
    bodyParser: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  // nestjs-pino has one root logger per process (the first app's); the level is this app's.
  if (PinoLogger.root) PinoLogger.root.level = pinoLevel(config.logSettings);
  // JSON only: without this, Fastify would hand text/plain bodies to the validation as strings.
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  // Every request runs in a log context: its correlation id (the caller's traceparent or X-Request-Id,
  // or a new one) is on every log line written for it, goes back as X-Request-Id, and travels on in Kafka.
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    const correlationId = correlationIdOf(request.headers);
    void reply.header('X-Request-Id', correlationId);
    withLogContext({ correlationId }, done);
  });
  // Before app.init() registers the routes, so every route (and Fastify's own 4xx answers) is timed.
  installHttpMetrics(app.getHttpAdapter().getInstance(), app.get(MetricsService));
  // Helmet, API keys and rate limits: after the correlation id (401s carry it) and before any route.
  await installHttpSecurity(app, config, app.get(REDIS), ERROR_CATALOG);
  app.useGlobalFilters(new ApiExceptionFilter(ERROR_CATALOG));
  app.useGlobalPipes(new ApiValidationPipe());
  if (!roles.api) {
    // A worker-only instance serves health and metrics only; its /api routes answer as unknown routes do.
    closeApiRoutes(app, roles.names);
  } else {
    setUpOpenApi(app);
    await installConsoleAssets(app);
  }

  // The pipeline stages (validation, fraud, ledger) are consumer controllers on our own Kafka transport;
  // APP_ROLES picks which of them this instance runs (an API-only instance runs none: it only publishes).
  if (roles.stages.size > 0) {
    app.connectMicroservice(
      {
        strategy: new KafkaStageServer({
          options: config.pipeline,
          traceLevel: config.paymentTraceLevel,
          kafkaFor: (stage) => createKafka(config, `-${stage}`),
          topics: app.get(KafkaTopics),
          publisher: app.get(EventBus),
          deadLetters: app.get(DeadLetterSink),
          effects: app.get(PaymentLifecycle),
          effectsOf: { refunds: app.get(RefundLifecycle), webhooks: app.get(WebhookIngest) },
          metrics: app.get(MetricsService),
          stages: roles.stages,
        }),
      },
      { inheritAppConfig: false },
    );
  }
  // What orchestrators and terminals send. (Nest's default list also shuts down on SIGHUP and SIGUSR2,
  // which tools use for other things, e.g. the benchmark's profiler.)
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const openApi = new DocumentBuilder()
    .setTitle('Payments API')
    .setDescription('Take payments and follow them through validation, fraud detection and the ledger.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key (npm run apikey -- <merchantId>)' })
    .addSecurityRequirements('bearer')
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, openApi));
}

/**
 * The controllers stay in the module graph (one image, one DI graph: the stages use the payments and
 * ledger services), but nothing under /api is reachable: 404 in the API's error shape, before routing.
 */
function closeApiRoutes(app: NestFastifyApplication, roles: string[]): void {
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?')[0];
    if (path !== '/api' && !path.startsWith('/api/')) return done();
    const message = `Cannot ${request.method} ${path}: this instance runs ${roles.join(', ')} (APP_ROLES), not the API.`;
    void replyWithError(reply, errorResponse(new RequestError(HttpErrorCode.ResourceNotFound, message), ERROR_CATALOG));
  });
}

export async function startApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApp(config);
  await app.init(); // topics are provisioned here, before any stage consumer subscribes
  await app.startAllMicroservices();
  await app.listen(config.http.port, config.http.host);
  new Logger('Bootstrap').log(
    `Listening on http://${config.http.host}:${config.http.port} (${config.env}, roles ${rolesOf(config.appRoles).names.join(',')}, Node.js ${process.version})`,
  );
  return app;
}
