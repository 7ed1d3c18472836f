import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1764250000000 implements MigrationInterface {
  name = 'CreatePayments1764250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "payments" (
        "id" uuid PRIMARY KEY,
        "merchant_id" varchar(64) NOT NULL,
        "order_id" varchar(64) NOT NULL,
        "user_id" varchar(64) NOT NULL,
        "amount_minor" bigint NOT NULL CHECK ("amount_minor" > 0),
        "currency" char(3) NOT NULL,
        "status" varchar(16) NOT NULL CHECK ("status" IN ('COMPLETED', 'DECLINED', 'REJECTED', 'FAILED')),
        "stage" varchar(16) NOT NULL,
        "reason" varchar(64),
        "accepted_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "payments_one_completed_per_order" ON "payments" ("merchant_id", "order_id") WHERE status = 'COMPLETED'`,
    );
    await queryRunner.query(`CREATE INDEX "payments_user_id" ON "payments" ("user_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "payments"`);
  }
}
