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
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', '.drc-sandbox/', '.test-sandbox/', '.bench-sandbox/', '.bench-bootstrap-sandbox/', 'bench/results/'] },
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
  forbid(['src/model/**'], ['capture', 'apply', 'transport', 'pipeline', 'ops', 'config', 'sandbox', 'cli', 'daemon', 'admin', 'ha', 'db'], 'model/ is pure shared vocabulary and imports nothing else from src/'),
  forbid(['src/capture/**'], ['apply', 'transport', 'cli', 'daemon', 'admin', 'ha'], 'capture/ talks to transport/ and apply/ only through ports declared in model/; daemon/ wires them'),
  forbid(['src/apply/**'], ['capture', 'transport', 'cli', 'daemon', 'admin', 'ha'], 'apply/ talks to capture/ and transport/ only through ports declared in model/; daemon/ wires them'),
  forbid(['src/transport/**'], ['capture', 'apply', 'cli', 'daemon', 'admin', 'ha'], 'transport/ implements ports from model/ and knows nothing of capture/ or apply/'),
  forbid(['src/admin/**'], ['capture', 'apply', 'transport', 'cli', 'daemon', 'ha'], "admin/ tools read the databases and talk to Kafka through ports declared in model/; what they need from a stage lives in config/ or db/, or is handed in by cli/"),
  forbid(['src/ops/**'], ['capture', 'apply', 'transport', 'cli', 'daemon', 'admin', 'ha'], 'ops/ is infrastructure (logger, metrics, http, health, runtime): it reads stage statistics through model/ types, never a stage'),
  forbid(['src/ha/**'], ['capture', 'apply', 'transport', 'cli', 'daemon', 'admin'], 'ha/ is the lease alone: the daemon hands it to the stages as a fence'),
  forbid(['src/daemon/**'], ['cli', 'admin'], 'daemon/ wires the stages; the CLI calls it, never the other way round'),
  forbid(['src/config/**', 'src/db/**', 'src/pipeline/**', 'src/sandbox/**'], ['cli', 'daemon', 'admin', 'ha'], 'only cli/ and daemon/ wire the application together'),
);
