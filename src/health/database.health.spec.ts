import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { DatabaseHealthIndicator } from './database.health.js';

const indicatorWith = (query: (sql: string) => Promise<unknown>) =>
  new DatabaseHealthIndicator(new HealthIndicatorService(), { query } as unknown as DataSource);

describe('DatabaseHealthIndicator', () => {
  it('should be up when SELECT 1 answers', async () => {
    const asked: string[] = [];
    const result = await indicatorWith(async (sql) => {
      asked.push(sql);
      return [{ '?column?': 1 }];
    }).check();
    expect(asked).toEqual(['SELECT 1']);
    expect(result.db).toMatchObject({ status: 'up', database: 'PostgreSQL' });
  });

  it('should be down when the query fails', async () => {
    const result = await indicatorWith(async () => {
      throw new Error('Connection terminated unexpectedly');
    }).check();
    expect(result.db).toMatchObject({ status: 'down', message: 'Connection terminated unexpectedly' });
  });
});
