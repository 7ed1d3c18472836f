import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpErrorCode, RequestError } from '../http/http-errors.js';
import { HealthError, HealthErrorCode } from './health-errors.js';
import { MetricsCatalog, parseTags } from '../metrics/metrics-catalog.js';
import { sendHealth } from './health.controller.js';
import { DEPENDENCIES, type Dependency } from '../pipeline/stages.js';
import { HealthReporter } from './health-reporter.js';

/**
 * Spring Boot Actuator's doors, so tools built for Spring services (Spring Boot Admin, existing
 * dashboards and probes) read this one too.
 */
@ApiExcludeController()
@Controller('actuator')
export class ActuatorController {
  constructor(
    private readonly health: HealthReporter,
    private readonly catalog: MetricsCatalog,
  ) {}

  @Get()
  links(@Req() request: FastifyRequest) {
    const base = `${request.protocol}://${request.host}/actuator`;
    const link = (path: string, templated = false) => ({ href: `${base}${path}`, templated });
    return {
      _links: {
        self: link(''),
        health: link('/health'),
        'health-path': link('/health/{*path}', true),
        metrics: link('/metrics'),
        'metrics-requiredMetricName': link('/metrics/{requiredMetricName}', true),
        prometheus: link('/prometheus'),
      },
    };
  }

  @Get('health')
  async all(@Res() reply: FastifyReply): Promise<void> {
    sendHealth(reply, await this.health.overall());
  }

  @Get('health/liveness')
  liveness(@Res() reply: FastifyReply): void {
    sendHealth(reply, this.health.liveness());
  }

  @Get('health/readiness')
  async readiness(@Res() reply: FastifyReply): Promise<void> {
    sendHealth(reply, await this.health.readiness());
  }

  /** One component, as Actuator's /actuator/health/{component}: `{status, details}`. */
  @Get('health/:component')
  async component(@Param('component') component: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(DEPENDENCIES as readonly string[]).includes(component)) {
      throw new HealthError(HealthErrorCode.HealthComponentNotFound, `No health component ${component}.`);
    }
    const report = await this.health.dependencies([component as Dependency]);
    sendHealth(reply, { httpStatus: report.httpStatus, body: report.body.components![component] });
  }

  @Get('metrics')
  metricNames() {
    return { names: this.catalog.names() };
  }

  @Get('metrics/:name')
  async metric(@Param('name') name: string, @Query('tag') tag?: string | string[]) {
    const tags = parseTags(tag);
    if (!tags) throw new RequestError(HttpErrorCode.ParameterInvalid, 'Each tag parameter must be in the form key:value.', { param: 'tag' });
    const metric = await this.catalog.describe(name, tags);
    if (!metric) throw new HealthError(HealthErrorCode.MetricNotFound, `No metric ${name}${tag === undefined ? '' : ' with these tags'}.`);
    return metric;
  }
}
