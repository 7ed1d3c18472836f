import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'infra/', '.cache/', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its error: the classic way to drop a payment silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // Command-line entry points, benchmarks and tests talk to a terminal.
    files: ['src/**/migrate.ts', 'src/**/seed*.ts', 'src/verify/verify.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts', 'test/**/*.ts', 'src/main.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // CommonJS preloads (Jest's setupFiles): require() is the point of them.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Plain ES modules preloaded into Node (the benchmark's profiler hook).
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly' } },
  },
);
