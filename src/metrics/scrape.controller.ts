import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';

/**
 * The package's scrape controller on Prometheus' door and on Actuator's, with `no-store` so no proxy
 * serves a stale scrape.
 */
@ApiExcludeController()
@Controller()
export class ScrapeController extends PrometheusController {
  @Get(['metrics', 'actuator/prometheus'])
  override async index(@Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    void response.header('Cache-Control', 'no-store');
    return super.index(response);
  }
}
