import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds: a refund is a new transfer (code REFUND) from the merchant's account back to the payer's
 * wallet; the payment's transfer is never changed. Constraints hold the guarantees whatever the code
 * does: a payment is never refunded beyond its amount (nor unless it completed), one transfer per
 * refund, and a merchant's account never goes below zero.
 */
export class CreateRefunds1764270000000 implements MigrationInterface {
  name = 'CreateRefunds1764270000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "payments" ADD "amount_refunded_minor" bigint NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      ALTER TABLE "payments" ADD CONSTRAINT "payments_refunded_within_amount"
        CHECK ("amount_refunded_minor" >= 0 AND "amount_refunded_minor" <= "amount_minor" AND ("amount_refunded_minor" = 0 OR "status" = 'COMPLETED'))`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" DROP CONSTRAINT "ledger_transfers_code_check"`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" ADD CONSTRAINT "ledger_transfers_code_check" CHECK ("code" IN ('PAYMENT', 'DEPOSIT', 'REFUND'))`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" ADD "refund_id" uuid UNIQUE`);
    await queryRunner.query(`
      ALTER TABLE "ledger_accounts" ADD CONSTRAINT "ledger_accounts_merchant_not_negative"
        CHECK ("kind" <> 'merchant' OR "debits_posted" <= "credits_posted")`);
    await queryRunner.query(`
      CREATE TABLE "refunds" (
        "id" uuid PRIMARY KEY,
        "payment_id" uuid NOT NULL REFERENCES "payments" ("id"),
        "merchant_id" varchar(64) NOT NULL,
        "user_id" varchar(64) NOT NULL,
        "amount_minor" bigint NOT NULL CHECK ("amount_minor" > 0),
        "currency" char(3) NOT NULL,
        "status" varchar(16) NOT NULL CHECK ("status" IN ('SUCCEEDED', 'DECLINED', 'FAILED')),
        "outcome_reason" varchar(64),
        "reason" varchar(32) CHECK ("reason" IN ('requested_by_customer', 'duplicate', 'fraudulent')),
        "description" varchar(255),
        "requested_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "refunds_reason_unless_succeeded" CHECK (("status" = 'SUCCEEDED') = ("outcome_reason" IS NULL))
      )`);
    await queryRunner.query(`CREATE INDEX "refunds_by_payment" ON "refunds" ("payment_id", "requested_at" DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "refunds"`);
    await queryRunner.query(`ALTER TABLE "ledger_accounts" DROP CONSTRAINT "ledger_accounts_merchant_not_negative"`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" DROP COLUMN "refund_id"`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" DROP CONSTRAINT "ledger_transfers_code_check"`);
    await queryRunner.query(`ALTER TABLE "ledger_transfers" ADD CONSTRAINT "ledger_transfers_code_check" CHECK ("code" IN ('PAYMENT', 'DEPOSIT'))`);
    await queryRunner.query(`ALTER TABLE "payments" DROP CONSTRAINT "payments_refunded_within_amount"`);
    await queryRunner.query(`ALTER TABLE "payments" DROP COLUMN "amount_refunded_minor"`);
  }
}
