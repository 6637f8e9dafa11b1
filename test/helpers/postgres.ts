// A fresh PostgreSQL database per test file, on the run's throw-away server (test/global-postgres.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** Create an empty database and return its URL. */
export async function freshDatabase(): Promise<string> {
  const server = inject('postgresUrl');
  const name = `strata_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}
