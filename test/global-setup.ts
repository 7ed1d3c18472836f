/**
 * Once per e2e run (the test database was rebuilt by `npm run migrate -- --fresh` before Jest started):
 * a run id that gives this run its own Kafka topics and Redis keys. Kept free of app imports because
 * Jest loads this file outside its ESM module system.
 */
export default function globalSetup(): void {
  process.env.TEST_RUN_ID ??= `run${Date.now().toString(36)}`;
}
