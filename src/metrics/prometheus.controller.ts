import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { register } from 'prom-client';

/** Prometheus' scrape target: every metric of the process in the text exposition format. */
@ApiExcludeController()
@Controller('metrics')
export class PrometheusController {
  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    void reply.header('Cache-Control', 'no-store').type(register.contentType).send(await register.metrics());
  }
}
