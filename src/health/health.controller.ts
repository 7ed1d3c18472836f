import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HealthReporter, type HealthReport } from './health-reporter.js';

/** Sends a health report with its own status: a DOWN report is a 503 in Actuator's shape, not an API error. */
export function sendHealth(reply: FastifyReply, report: HealthReport): void {
  void reply.status(report.httpStatus).header('Cache-Control', 'no-store').type('application/json; charset=utf-8').send(report.body);
}

/** Kubernetes-style probes: liveness (the process), readiness (its dependencies), and both together. */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthReporter) {}

  @Get()
  async check(@Res() reply: FastifyReply): Promise<void> {
    sendHealth(reply, await this.health.overall());
  }

  @Get('liveness')
  liveness(@Res() reply: FastifyReply): void {
    sendHealth(reply, this.health.liveness());
  }

  @Get('readiness')
  async readiness(@Res() reply: FastifyReply): Promise<void> {
    sendHealth(reply, await this.health.readiness());
  }
}
