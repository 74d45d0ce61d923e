/** Jest: TypeScript through ts-jest (types are checked by `tsc --noEmit` in `npm run build`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 120_000,
  maxWorkers: 2,
};
