// Lint runs in the test command (scripts/test.sh). Two kinds of mistakes type-checking lets through:
// promises nobody awaits (a lost error, or work outliving its request), and workflow code reaching for
// things the Temporal sandbox forbids — they fail only when a worker replays, long after review.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

// Code that runs inside the workflow sandbox, and what it imports.
export const SANDBOXED = ['workflows/**/*.ts', 'src/shared/**/*.ts', 'temporal/namespace.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.data/**', 'bench-results/**', 'docs/**', 'src/dashboard/dist/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what these register; their promises are the runner's, not ours to await.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: SANDBOXED,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Node built-ins do not exist in the workflow sandbox: do this in an activity.' })),
            { name: 'knex', message: 'Workflows never touch the database: do this in an activity.' },
            { name: 'pg', message: 'Workflows never touch the database: do this in an activity.' },
          ],
          patterns: [{ group: ['node:*'], message: 'Node built-ins do not exist in the workflow sandbox: do this in an activity.' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code must be deterministic and cannot read the environment: pass it in as input.' },
      ],
    },
  },
);
