// Vitest global setup: one throw-away PostgreSQL server on 127.0.0.1 for the whole run (the
// project's own scripts/pg-server.sh; Debian's postgresql must be installed, as .ci/run does).
// Tests get their own database from it (test/helpers/postgres.ts), so they cannot see each
// other's rows. A missing PostgreSQL fails the run: the PostgreSQL tests are never skipped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const script = join(import.meta.dirname, '..', 'scripts', 'pg-server.sh');

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-pg-'));
  const url = execFileSync(script, ['start', dir], { encoding: 'utf8' }).trim();
  project.provide('postgresUrl', url);
  return () => {
    execFileSync(script, ['stop', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
}
