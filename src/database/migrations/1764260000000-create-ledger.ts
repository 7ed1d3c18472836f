import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The double-entry ledger, in TigerBeetle's vocabulary: accounts with posted debits and credits,
 * immutable transfers that each debit one account and credit another of the same currency (ledger).
 * A CHECK keeps wallets from going below zero whatever the code does.
 */
export class CreateLedger1764260000000 implements MigrationInterface {
  name = 'CreateLedger1764260000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "merchants" (
        "id" varchar(64) PRIMARY KEY,
        "name" varchar(255) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`INSERT INTO "merchants" ("id", "name") VALUES ('MERCHANT-001', 'Default merchant')`);
    await queryRunner.query(`
      CREATE TABLE "ledger_accounts" (
        "id" varchar(160) PRIMARY KEY,
        "kind" varchar(16) NOT NULL CHECK ("kind" IN ('wallet', 'merchant', 'funding')),
        "owner_id" varchar(64) NOT NULL,
        "currency" char(3) NOT NULL,
        "debits_posted" bigint NOT NULL DEFAULT 0 CHECK ("debits_posted" >= 0),
        "credits_posted" bigint NOT NULL DEFAULT 0 CHECK ("credits_posted" >= 0),
        "debits_must_not_exceed_credits" boolean NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "ledger_accounts_no_overdraft" CHECK (NOT "debits_must_not_exceed_credits" OR "debits_posted" <= "credits_posted"),
        CONSTRAINT "ledger_accounts_owner_currency" UNIQUE ("kind", "owner_id", "currency")
      )`);
    await queryRunner.query(`
      CREATE TABLE "ledger_transfers" (
        "id" uuid PRIMARY KEY,
        "debit_account_id" varchar(160) NOT NULL REFERENCES "ledger_accounts" ("id"),
        "credit_account_id" varchar(160) NOT NULL REFERENCES "ledger_accounts" ("id"),
        "amount" bigint NOT NULL CHECK ("amount" > 0),
        "ledger" char(3) NOT NULL,
        "code" varchar(16) NOT NULL CHECK ("code" IN ('PAYMENT', 'DEPOSIT')),
        "payment_id" uuid UNIQUE,
        "deposit_id" varchar(64) UNIQUE,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CHECK ("debit_account_id" <> "credit_account_id")
      )`);
    await queryRunner.query(`CREATE INDEX "ledger_transfers_debit_account" ON "ledger_transfers" ("debit_account_id")`);
    await queryRunner.query(`CREATE INDEX "ledger_transfers_credit_account" ON "ledger_transfers" ("credit_account_id")`);
    await queryRunner.query(`ALTER TABLE "payments" ADD "risk_score" integer`);
    await queryRunner.query(`
      CREATE TABLE "dead_letters" (
        "id" uuid PRIMARY KEY,
        "topic" varchar(255) NOT NULL,
        "partition" integer NOT NULL,
        "offset" bigint NOT NULL,
        "message_key" text,
        "message_value" text NOT NULL,
        "headers" jsonb NOT NULL,
        "payment_id" uuid,
        "error" text NOT NULL,
        "attempts" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "replayed_at" timestamptz,
        CONSTRAINT "dead_letters_source" UNIQUE ("topic", "partition", "offset")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "dead_letters"`);
    await queryRunner.query(`ALTER TABLE "payments" DROP COLUMN "risk_score"`);
    await queryRunner.query(`DROP TABLE "ledger_transfers"`);
    await queryRunner.query(`DROP TABLE "ledger_accounts"`);
    await queryRunner.query(`DROP TABLE "merchants"`);
  }
}
