/**
 * Three projects mirror the test layers (STYLE.md "Tests"):
 *   unit        pure code, no servers
 *   workflow    Temporal time-skipping test server + replay of recorded histories
 *   integration real Temporal dev server, real PostgreSQL, emulators (localstripe, moto, gateway)
 * test/security and test/browser (a real Chromium, playwright-core) run with integration: they drive
 * the real API and share its global setup (one database, one Temporal dev server per run).
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
};
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Hooks too: starting or stopping a stack takes seconds, jest's 5 s default is too tight for CI.
  testTimeout: 60_000,
  // The summary reporter prints `jest: N passed, N failed`, a line CI reads as the run's count.
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'workflow',
      testMatch: ['<rootDir>/test/workflow/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/test/integration/**/*.test.ts',
        '<rootDir>/test/security/**/*.test.ts',
        '<rootDir>/test/browser/**/*.test.ts',
      ],
      setupFilesAfterEnv: ['<rootDir>/test/support/stop-stacks.ts', '<rootDir>/test/support/audit-keys.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
