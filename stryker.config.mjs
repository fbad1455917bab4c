/**
 * Mutation testing of the pure modules against their unit tests (not part of `npm test`):
 *
 *   npm run mutation                                   # every module below (slow)
 *   npm run mutation -- --mutate src/util/redact.ts    # one module, only its own unit tests
 *
 * StrykerJS is not a dependency: `npm run mutation` fetches it with npx, so `npm ci` stays lean.
 * Each test file runs as `node --import tsx FILE` under Stryker's tap runner (node:test prints TAP),
 * and a mutant runs only the files that reach it. Slow on a busy 2-core machine (about one mutant
 * per second; retention's tests are the longest), hence one module at a time and concurrency 1
 * (raise it with --concurrency N on an idle machine).
 */

/**
 * Each pure module and the unit test files that exercise it. A mutant stops at the first file that
 * fails, so the quick table tests are listed first (the runner's glob has kept that order). Not listed:
 * test/retention-tz.test.ts, which re-runs retention.test.ts in a child under another TZ (it would
 * double the cost of every retention mutant, and no mutation operator makes retention read the
 * process's TZ).
 */
const MODULES = {
  'src/core/retention.ts': [
    'test/retention.test.ts',
    'test/retention-edges.test.ts',
    'test/retention-property.test.ts',
  ],
  'src/catalog/layout.ts': ['test/layout.test.ts'],
  'src/config/expectation.ts': ['test/expectation.test.ts'],
  'src/util/redact.ts': ['test/redact-and-errors.test.ts'],
  'src/catalog/manifest.ts': ['test/manifest.test.ts'],
};

/**
 * The modules named with --mutate (or -m) on the command line, so that the dry run and every mutant
 * run only those modules' test files; all modules when none is named. A file outside MODULES gets
 * every test file.
 */
function chosenModules(argv) {
  const at = argv.findIndex((a) => a === '--mutate' || a === '-m' || a.startsWith('--mutate='));
  if (at < 0) return Object.keys(MODULES);
  const value = argv[at].startsWith('--mutate=') ? argv[at].slice('--mutate='.length) : (argv[at + 1] ?? '');
  // A mutate entry may carry a range (file:10-20); the file is what picks the tests.
  return value.split(',').map((entry) => entry.replace(/:\d+(?::\d+)?-\d+(?::\d+)?$/, ''));
}

// eslint runs this file without Node globals; Stryker loads it in Node.
const chosen = chosenModules(globalThis.process.argv);
const testFiles = [...new Set(chosen.flatMap((file) => MODULES[file] ?? Object.values(MODULES).flat()))];

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: Object.keys(MODULES),
  tap: {
    testFiles,
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '--test-reporter=tap', '{{testFile}}'],
  },
  // Stryker would rewrite tsconfig.json's extends/references with the `typescript` package, which npx
  // does not install beside it (the project's own copy satisfies `-p typescript`, but Stryker cannot
  // resolve it from npx's cache). tsconfig.json has neither, so point the rewrite at no file.
  tsconfigFile: '',
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // A mutant that loops forever (a retention or layout loop) costs this much on top of the run.
  timeoutMS: 5000,
  ignorePatterns: ['/dist', '/docs', '/bench', '/reports'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
