// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Forbid imports of the given src/ folders from the files matched (STYLE.md: the pipeline's boundaries). */
const forbid = (files, folders, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: folders.map((f) => ({ group: [`**/${f}/*`, `**/${f}.js`], message: why })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', '.drc-sandbox/', '.test-sandbox/', '.bench-sandbox/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  forbid(['src/model/**'], ['capture', 'apply', 'transport', 'pipeline', 'ops', 'config', 'sandbox', 'cli', 'daemon'], 'model/ is pure shared vocabulary and imports nothing else from src/'),
  forbid(['src/capture/**'], ['apply', 'transport', 'cli', 'daemon'], 'capture/ talks to transport/ and apply/ only through ports declared in model/; daemon.ts wires them'),
  forbid(['src/apply/**'], ['capture', 'transport', 'cli', 'daemon'], 'apply/ talks to capture/ and transport/ only through ports declared in model/; daemon.ts wires them'),
  forbid(['src/transport/**'], ['capture', 'apply', 'cli', 'daemon'], 'transport/ implements ports from model/ and knows nothing of capture/ or apply/'),
  forbid(['src/config/**', 'src/ops/**', 'src/pipeline/**', 'src/sandbox/**'], ['cli', 'daemon'], 'only cli/ and daemon.ts wire the application together'),
);
