// Lint rules the code keeps (issue 20): a small set, checked with type information from
// tsconfig.test.json (every package's src and test) and the page's tsconfig. `npm run lint` runs it; .ci/run calls it.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'docs/**', 'weights/**', '**/*.js', '**/*.mjs', '**/*.cjs', '**/*.d.ts'] },
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: ['./tsconfig.test.json', './packages/web/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // Some comments disable rules of other tools (no-console): not ours to report.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      // A promise nobody awaits loses its error (WebGPU reads, worker threads, file writes).
      '@typescript-eslint/no-floating-promises': 'error',
      // Dead names mislead; `_name` marks a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Type-only imports are erased: say so, so a reader (and a bundler) knows which imports run code.
      // `import('…').T` annotations stay allowed: tests use them for modules they load lazily.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
);
