/** Tests run from TypeScript sources (ts-jest, transpile only: `npm run typecheck` does the type check). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  // src/index.ts is each package's Node entry (src/browser.ts the browser one), as Node's `node` export condition picks.
  moduleNameMapper: {
    '^@gradlens/backend-gpujs$': '<rootDir>/packages/backend-gpujs/src',
    '^@gradlens/((?!weights$)[a-z]+)$': '<rootDir>/packages/$1/src',
  },
  // The test entry point reads GRADLENS_BACKEND / GRADLENS_THREADS (the core reads no environment).
  setupFilesAfterEnv: ['<rootDir>/scripts/jest-environment.ts'],
  testTimeout: 60000,
};
