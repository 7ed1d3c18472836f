/**
 * Jest runs the TypeScript sources as native ES modules (NestJS 12 ships ESM only), so it needs
 * Node's --experimental-vm-modules (see package.json). ts-jest transpiles file by file for speed;
 * `npm run typecheck` does the full type check.
 */
const esm = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  setupFiles: ['<rootDir>/test/setup-cjs-plugins.cjs'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
};

export default {
  // e2e suites share one broker, Redis and database, and the machine has two cores: one file at a time.
  maxWorkers: 1,
  // e2e tests wait on real servers (a broker restart takes seconds); unit tests finish long before.
  testTimeout: 60000,
  // A suite that fails before closing its app leaves Kafka consumers reconnecting; the run must end anyway.
  forceExit: true,
  projects: [
    { ...esm, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'], setupFilesAfterEnv: ['<rootDir>/test/unit-timeout.ts'] },
    {
      ...esm,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
