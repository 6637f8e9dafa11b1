import { defineConfig } from 'vitest/config';

/** Suites about the SQLite files themselves (their crash recovery, modes, upgrade): one engine only. */
const sqliteOnly = [
  'test/integration/crash.test.ts',
  'test/integration/data-modes.test.ts',
  'test/integration/versioning-upgrade.test.ts',
  'test/integration/versioning-crash.test.ts',
  'test/integration/hostile-connections.test.ts',
  // Migrates SQLite into PostgreSQL itself: the same test in both projects would only run twice.
  'test/integration/migrate.test.ts',
  // The real clients' request shapes for small bucket settings: the engine below changes nothing there.
  'test/integration/bucket-settings-clients.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One throw-away PostgreSQL server per project run (scripts/pg-server.sh).
    globalSetup: ['test/global-postgres.ts'],
    // Integration suites start servers and real clients; two cores, so keep parallelism modest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    projects: [
      // Everything, with servers on the embedded SQLite metadata (the default).
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      // The server-level suites again, each server on its own PostgreSQL database.
      {
        extends: true,
        test: { name: 'postgres', include: ['test/integration/**/*.test.ts'], exclude: sqliteOnly, env: { STRATA_TEST_METADATA: 'postgres' } },
      },
    ],
  },
});
