import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';

/** PostgreSQL is up when the pool hands out a connection that answers SELECT 1. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly dataSource: DataSource,
  ) {}

  check(key = 'db') {
    return this.health
      .check(key)
      .attempt(async () => {
        await this.dataSource.query('SELECT 1');
        return { database: 'PostgreSQL', validationQuery: 'SELECT 1' };
      })
      .withTimeout(2000);
  }
}
