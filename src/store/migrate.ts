// `strata migrate --to postgres://…`: copy the metadata of an embedded data root (one SQLite file
// per region, dataDir/regions/<name>/meta.db) into PostgreSQL, so that Strata nodes started with
// STRATA_METADATA_URL serve the same buckets and objects. Blobs are not copied: file blobs stay
// under dataDir/regions/<name>/blobs (the directory the nodes share), inline blobs are rows.
//
// The server must be stopped: the SQLite files are probed for another connection first (a
// server keeps its databases open), then read through read-only connections, each region in one
// read transaction, so the copy and its verification see one state of the file.
//
// Resumable: each batch of rows is inserted in one PostgreSQL transaction together with the
// table's progress row (S.strata_migration: the key of the last row copied), so after a kill a
// second run continues after the last committed batch and copies no row twice (ON CONFLICT DO
// NOTHING besides). A region is marked done only when its verification passed: per table, the
// row count and a sha256 over every row in key order, computed from SQLite and from PostgreSQL.
// A region marked done is skipped by later runs: nodes may have changed its rows since.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { PgDatabase } from './meta/postgres.ts';
import { keyOf, maxBatchRows, pgChecksumSql, pgInsert, RowChecksum, SQLITE_SCHEMA_VERSION, sqliteChecksumSql, sqlitePageSql, TABLES, type TableSpec } from './migrate-tables.ts';
import type { MigrationProgress } from './migrate-progress.ts';
import { migrateIdentity } from './migrate-identity.ts';

export { migrateIdentity };

export interface MigrateOptions {
  dataDir: string;
  regions: string[];
  /** the PostgreSQL database: postgres://… */
  url: string;
  /** rows per batch instead of each table's default */
  batchRows?: number;
  progress: MigrationProgress;
  /**
   * For tests only: after this many committed batches, the next batch's rows are inserted and
   * the process kills itself (SIGKILL) before that transaction commits, as an interrupted run.
   */
  killAfterBatches?: number;
}

export interface TableReport {
  table: string;
  /** rows in the SQLite table */
  rows: number;
  /** rows copied by this run (the rest by earlier, interrupted runs) */
  copied: number;
  sqlite: { rows: number; checksum: string };
  postgres: { rows: number; checksum: string };
  verified: boolean;
}

export interface RegionReport {
  region: string;
  status: 'migrated' | 'already migrated' | 'no metadata' | 'verification failed';
  tables: TableReport[];
  seconds: number;
}

export interface MigrationReport {
  regions: RegionReport[];
  /** what became of the identity database (orgs, keys, admin tokens) */
  identity: string;
  copied: number;
  seconds: number;
}

/** A refusal or a failure the operator can act on (the CLI prints its message, exit 1). */
export class MigrationError extends Error {}

interface Progress {
  after: unknown[] | null;
  rows: number;
  done: boolean;
}

/** The mark of a region whose every table copied and verified. */
const REGION_DONE = '*';

export async function migrateMetadata(options: MigrateOptions): Promise<MigrationReport> {
  const started = Date.now();
  const files = new Map(options.regions.map((r) => [r, join(options.dataDir, 'regions', r, 'meta.db')]));
  // Every file before anything is written: a running server is refused as a whole.
  for (const file of [...files.values(), join(options.dataDir, 'identity.db')]) if (existsSync(file)) assertNotInUse(file);
  const database = new PgDatabase(options.url, 4);
  const reports: RegionReport[] = [];
  const state = { batches: 0 };
  try {
    for (const [region, file] of files) {
      if (!existsSync(file)) {
        options.progress.note(`migrate: ${region}: no metadata (${file} does not exist), skipped`);
        reports.push({ region, status: 'no metadata', tables: [], seconds: 0 });
        continue;
      }
      reports.push(await migrateRegion(database, region, file, options, state));
    }
    const identity = await migrateIdentity(options.dataDir, database);
    const copied = reports.reduce((n, r) => n + r.tables.reduce((m, t) => m + t.copied, 0), 0);
    return { regions: reports, identity, copied, seconds: (Date.now() - started) / 1000 };
  } finally {
    await database.close();
  }
}

/** Refuse a file another process has open: a server keeps its databases open while it runs. */
function assertNotInUse(file: string): void {
  const probe = new Database(file, { fileMustExist: true });
  try {
    probe.pragma('busy_timeout = 0');
    // In WAL mode every open connection holds a shared lock on the file: an exclusive one is
    // granted only when no other connection is open. Nothing is written.
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new MigrationError(`${file} is in use (is a Strata server running on this data root?): stop the server, then migrate`);
    }
    throw error;
  } finally {
    probe.close();
  }
}

async function migrateRegion(database: PgDatabase, region: string, file: string, options: MigrateOptions, state: { batches: number }): Promise<RegionReport> {
  const started = Date.now();
  const schema = await database.prepareRegion(region);
  const progressTable = `${schema}.strata_migration`;
  // A session lock: two migrations of one region would interleave their batches.
  const lockClient = await database.pool.connect();
  try {
    const locked = (await lockClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`strata-migrate ${region}`])).rows[0].ok;
    if (!locked) throw new MigrationError(`${region}: another strata migrate is copying this region into the database`);
    await database.pool.query(
      `CREATE TABLE IF NOT EXISTS ${progressTable} (
         tbl text PRIMARY KEY,       -- a table's name, or '${REGION_DONE}': the region copied and verified
         after text,                 -- JSON array: the primary key of the last row copied
         rows bigint NOT NULL,       -- rows copied so far
         done boolean NOT NULL,
         updated_at bigint NOT NULL  -- ms since the epoch
       )`,
    );
    const saved = await readProgress(database, progressTable);
    if (saved.get(REGION_DONE)?.done) {
      options.progress.note(`migrate: ${region}: already migrated and verified by an earlier run, skipped`);
      return { region, status: 'already migrated', tables: [], seconds: 0 };
    }
    if (saved.size === 0) await assertEmpty(database, schema, region);

    const sqlite = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const version = sqlite.pragma('user_version', { simple: true }) as number;
      if (version !== SQLITE_SCHEMA_VERSION) {
        throw new MigrationError(
          `${file} has schema version ${version}; this migrate copies version ${SQLITE_SCHEMA_VERSION}` +
            (version < SQLITE_SCHEMA_VERSION ? ' (start and stop this version of strata serve once to upgrade the file)' : ''),
        );
      }
      // One snapshot for the copy and its verification.
      sqlite.exec('BEGIN');
      const copied = new Map<string, number>();
      for (const spec of TABLES) copied.set(spec.name, await copyTable(database, sqlite, schema, progressTable, region, spec, saved.get(spec.name), options, state));
      options.progress.note(`migrate: ${region}: verifying row counts and checksums on both sides`);
      const tables: TableReport[] = [];
      for (const spec of TABLES) tables.push(await verifyTable(database, sqlite, schema, spec, copied.get(spec.name)!));
      const failed = tables.filter((t) => !t.verified);
      for (const t of failed) {
        options.progress.note(
          `migrate: ${region} ${t.table}: VERIFICATION FAILED: SQLite ${t.sqlite.rows} rows sha256 ${t.sqlite.checksum}, PostgreSQL ${t.postgres.rows} rows sha256 ${t.postgres.checksum}`,
        );
      }
      if (failed.length === 0) {
        await database.pool.query(`INSERT INTO ${progressTable} VALUES ($1, NULL, 0, true, $2) ON CONFLICT (tbl) DO UPDATE SET done = true, updated_at = excluded.updated_at`, [
          REGION_DONE,
          Date.now(),
        ]);
      }
      return { region, status: failed.length === 0 ? 'migrated' : 'verification failed', tables, seconds: (Date.now() - started) / 1000 };
    } finally {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      sqlite.close();
    }
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock(hashtext($1))', [`strata-migrate ${region}`]).catch(() => undefined);
    lockClient.release();
  }
}

async function readProgress(database: PgDatabase, progressTable: string): Promise<Map<string, Progress>> {
  const rows = (await database.pool.query<{ tbl: string; after: string | null; rows: number; done: boolean }>(`SELECT tbl, after, rows, done FROM ${progressTable}`)).rows;
  return new Map(rows.map((r) => [r.tbl, { after: r.after === null ? null : (JSON.parse(r.after) as unknown[]), rows: r.rows, done: r.done }]));
}

/** A first run writes into empty tables only: rows there came from nodes, not from this copy. */
async function assertEmpty(database: PgDatabase, schema: string, region: string): Promise<void> {
  for (const spec of TABLES) {
    const { rows } = await database.pool.query(`SELECT 1 FROM ${schema}.${spec.name} LIMIT 1`);
    if (rows.length > 0) {
      throw new MigrationError(`${region}: ${schema}.${spec.name} already has rows that no migration wrote (have nodes run on this database?); refusing to merge into it`);
    }
  }
}

/** Copy the rows after the saved progress, a batch per transaction; returns the rows this run copied. */
async function copyTable(
  database: PgDatabase,
  sqlite: Database.Database,
  schema: string,
  progressTable: string,
  region: string,
  spec: TableSpec,
  saved: Progress | undefined,
  options: MigrateOptions,
  state: { batches: number },
): Promise<number> {
  const total = (sqlite.prepare(`SELECT count(*) AS n FROM ${spec.name}`).get() as { n: number }).n;
  let after = saved?.after ?? null;
  let rowsDone = saved?.rows ?? 0;
  options.progress.start(region, spec.name, total, rowsDone);
  if (saved?.done) {
    options.progress.finish();
    return 0;
  }
  const batch = Math.min(options.batchRows ?? spec.batchRows, maxBatchRows(spec));
  const first = sqlite.prepare(sqlitePageSql(spec, null));
  const next = sqlite.prepare(sqlitePageSql(spec, spec.key.map(() => null)));
  let copied = 0;
  for (;;) {
    const rows = (after === null ? first.all(batch) : next.all(...after, batch)) as Record<string, unknown>[];
    const last = rows.length < batch;
    const key = rows.length > 0 ? keyOf(spec, rows[rows.length - 1]) : after;
    await database.transaction(async (client: pg.PoolClient) => {
      if (rows.length > 0) {
        const insert = pgInsert(spec, schema, rows);
        await client.query(insert.text, insert.values);
      }
      if (options.killAfterBatches !== undefined && state.batches >= options.killAfterBatches) {
        options.progress.note(`migrate: killed before a commit after ${state.batches} batches (STRATA_MIGRATE_KILL_AFTER_BATCHES, for tests)`);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => undefined);
      }
      await client.query(
        `INSERT INTO ${progressTable} (tbl, after, rows, done, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tbl) DO UPDATE SET after = excluded.after, rows = excluded.rows, done = excluded.done, updated_at = excluded.updated_at`,
        [spec.name, key === null ? null : JSON.stringify(key), rowsDone + rows.length, last, Date.now()],
      );
    });
    state.batches++;
    after = key;
    rowsDone += rows.length;
    copied += rows.length;
    options.progress.advance(rows.length);
    if (last) break;
  }
  options.progress.finish();
  return copied;
}

/** Row count and checksum of the table on both sides, read in the same (byte) order. */
async function verifyTable(database: PgDatabase, sqlite: Database.Database, schema: string, spec: TableSpec, copied: number): Promise<TableReport> {
  const local = new RowChecksum();
  for (const row of sqlite.prepare(sqliteChecksumSql(spec)).raw(true).iterate()) local.add(row as unknown[]);
  const remote = new RowChecksum();
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`DECLARE verify NO SCROLL CURSOR FOR ${pgChecksumSql(spec, schema)}`);
    for (;;) {
      const { rows } = await client.query<unknown[]>({ text: 'FETCH 1000 FROM verify', rowMode: 'array' });
      for (const row of rows) remote.add(row);
      if (rows.length < 1000) break;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const sqliteSide = { rows: local.rows, checksum: local.digest() };
  const pgSide = { rows: remote.rows, checksum: remote.digest() };
  return {
    table: spec.name,
    rows: local.rows,
    copied,
    sqlite: sqliteSide,
    postgres: pgSide,
    verified: sqliteSide.rows === pgSide.rows && sqliteSide.checksum === pgSide.checksum,
  };
}
