/** Tests run from TypeScript sources (ts-jest, transpile only: `npm run typecheck` does the type check). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  moduleNameMapper: { '^@gradlens/((?!weights$)[a-z]+)$': '<rootDir>/packages/$1/src' },
  testTimeout: 60000,
};
