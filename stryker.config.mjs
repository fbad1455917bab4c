/**
 * Mutation testing of the pure modules against their unit tests (not part of `npm test`):
 *
 *   npm run mutation
 *
 * StrykerJS is not a dependency: `npm run mutation` fetches it with npx, so `npm ci` stays lean.
 * Each test file runs as `node --import tsx FILE` under Stryker's tap runner (node:test prints TAP),
 * and a mutant runs only the files that reach it. Slow on a busy 2-core machine (about one mutant
 * per second per core; retention's tests are the longest): narrow it with --mutate FILE.
 */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: [
    'src/core/retention.ts',
    'src/catalog/layout.ts',
    'src/config/expectation.ts',
    'src/util/redact.ts',
    'src/catalog/manifest.ts',
  ],
  tap: {
    testFiles: [
      'test/retention.test.ts',
      'test/retention-property.test.ts',
      'test/layout.test.ts',
      'test/drill-policy.test.ts',
      'test/redact-and-errors.test.ts',
      'test/manifest.test.ts',
    ],
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '--test-reporter=tap', '{{testFile}}'],
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // A mutant that loops forever (a retention or layout loop) costs this much on top of the run.
  timeoutMS: 5000,
  ignorePatterns: ['/dist', '/docs', '/bench', '/reports'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
