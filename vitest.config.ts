import { defineConfig } from 'vitest/config';

// Resolve workspace packages to their TypeScript sources via the custom export
// condition, so tests never need a prior build. Setting conditions replaces
// Vite's defaults, so they are repeated here — all but 'module': that picks bundler builds
// (OpenTelemetry's has extensionless ESM imports, which Node cannot load once externalized).
const conditions = ['@troupe/source', 'node', 'development|production'];

export default defineConfig({
  ssr: { resolve: { conditions } },
  test: {
    // Every test runs under the auditor (test/setup/audit.ts): accounting must close.
    setupFiles: ['test/setup/audit.ts'],
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The JSON report lets .ci/run print one plain "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'test-output/vitest.json' }]],
  },
});
