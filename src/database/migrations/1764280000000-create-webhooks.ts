import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks: a merchant's endpoints, one event per payment or refund outcome (its id derived from the
 * outcome, so a redelivered Kafka record makes no second event), one delivery per event and subscribed
 * endpoint, and every attempt of a delivery. Deliveries are claimed by lease (`locked_until`), so a
 * worker killed mid-delivery leaves nothing stuck: the lease runs out and another worker sends it again.
 */
export class CreateWebhooks1764280000000 implements MigrationInterface {
  name = 'CreateWebhooks1764280000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "webhook_endpoints" (
        "id" varchar(40) PRIMARY KEY,
        "merchant_id" varchar(64) NOT NULL,
        "url" varchar(2048) NOT NULL,
        "events" text[] NOT NULL CHECK (cardinality("events") > 0),
        "description" varchar(255),
        "secret" varchar(64) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'enabled' CHECK ("status" IN ('enabled', 'disabled')),
        "disabled_reason" varchar(64),
        "failing_since" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "deleted_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "webhook_endpoints_by_merchant" ON "webhook_endpoints" ("merchant_id") WHERE "deleted_at" IS NULL`);
    await queryRunner.query(`
      CREATE TABLE "webhook_events" (
        "id" varchar(40) PRIMARY KEY,
        "merchant_id" varchar(64) NOT NULL,
        "type" varchar(32) NOT NULL,
        "payment_id" uuid NOT NULL,
        "refund_id" uuid,
        "data" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "webhook_events_by_merchant" ON "webhook_events" ("merchant_id", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "event_id" varchar(40) NOT NULL REFERENCES "webhook_events" ("id"),
        "endpoint_id" varchar(40) NOT NULL REFERENCES "webhook_endpoints" ("id"),
        "status" varchar(16) NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'delivered', 'failed', 'cancelled')),
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "locked_until" timestamptz,
        "last_status_code" integer,
        "last_error" varchar(500),
        "delivered_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "webhook_deliveries_once_per_endpoint" UNIQUE ("event_id", "endpoint_id")
      )`);
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_due" ON "webhook_deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_by_endpoint" ON "webhook_deliveries" ("endpoint_id", "created_at" DESC)`);
    await queryRunner.query(`
      CREATE TABLE "webhook_attempts" (
        "id" bigserial PRIMARY KEY,
        "delivery_id" uuid NOT NULL REFERENCES "webhook_deliveries" ("id"),
        "attempted_at" timestamptz NOT NULL,
        "status_code" integer,
        "duration_ms" integer NOT NULL,
        "error" varchar(500)
      )`);
    await queryRunner.query(`CREATE INDEX "webhook_attempts_by_delivery" ON "webhook_attempts" ("delivery_id", "attempted_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_attempts"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhook_events"`);
    await queryRunner.query(`DROP TABLE "webhook_endpoints"`);
  }
}
