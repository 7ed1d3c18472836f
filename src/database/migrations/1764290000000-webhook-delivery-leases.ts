import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery's lease gets a token, so that only the worker holding the current lease records the
 * outcome (a worker whose lease ran out, or a delivery redelivered meanwhile, changes nothing), and
 * its failing streak a start of its own, which a redelivery resets: the give-up time runs from there.
 */
export class WebhookDeliveryLeases1764290000000 implements MigrationInterface {
  name = 'WebhookDeliveryLeases1764290000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" ADD "lease_id" uuid, ADD "failing_since" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP COLUMN "failing_since", DROP COLUMN "lease_id"`);
  }
}
