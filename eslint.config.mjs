// Type-checked lint. workflows/ gets an extra fence: no Node builtins, no pg, no SDKs, and activities
// only as types (the workflow bundle must stay deterministic and free of I/O).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  // .semgrep/rules: the semgrep rules' test fixtures, deliberate violations outside the TS project.
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.tools/**',
      '.data/**',
      'coverage/**',
      '.semgrep/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflows must not use Node built-ins (determinism).',
            })),
            { name: 'pg', message: 'Workflows must not touch the database: use an activity.' },
            { name: 'stripe', message: 'Provider SDKs belong in activities.' },
            { name: 'braintree', message: 'Provider SDKs belong in activities.' },
            { name: '@aws-sdk/client-kms', message: 'KMS belongs in activities.' },
            { name: '@temporalio/worker', message: 'Workflows run inside the worker; do not import it.' },
            { name: '@temporalio/client', message: 'Workflows must not use the client.' },
          ],
          patterns: [
            {
              group: ['../activities', '../activities/*', '../activities/**'],
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
            {
              group: ['../db/*', '../security/*', '../vault/*', '../api/*'],
              message: 'Workflows must not import I/O layers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
