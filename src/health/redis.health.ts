import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Cluster } from 'ioredis';
import { REDIS, type RedisClient } from '../redis/redis.module.js';

/** All of Redis Cluster's hash slots: fewer served means some keys cannot be read or written. */
const CLUSTER_SLOTS = 16384;

/**
 * Redis is up when it answers PING. A Redis Cluster is up when its state is ok and every hash slot
 * is served (CLUSTER INFO): during a master's failover it is not, until its replica took over.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  check(key = 'redis') {
    return this.health
      .check(key)
      .attempt(async () => {
        const started = Date.now();
        if (this.redis instanceof Cluster) return { ...(await this.clusterState(this.redis)), latencyMs: Date.now() - started };
        const pong = await this.redis.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
        return { latencyMs: Date.now() - started };
      })
      .withTimeout(2000);
  }

  private async clusterState(cluster: Cluster) {
    const info = Object.fromEntries(
      (await cluster.cluster('INFO'))
        .split(/\r?\n/)
        .filter((line) => line.includes(':'))
        .map((line) => line.split(':') as [string, string]),
    );
    const state = { clusterState: info.cluster_state, slotsOk: Number(info.cluster_slots_ok), masters: Number(info.cluster_size) };
    if (state.clusterState !== 'ok') throw new Error(`cluster_state is ${state.clusterState}`);
    if (state.slotsOk < CLUSTER_SLOTS) throw new Error(`${CLUSTER_SLOTS - state.slotsOk} of ${CLUSTER_SLOTS} hash slots are not served`);
    return state;
  }
}
