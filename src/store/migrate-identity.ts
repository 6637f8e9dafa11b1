// The identity part of `strata migrate`: organisations, access keys and admin API tokens from the
// data root's identity.db into the strata_identity schema. Rows are copied as they are: secrets
// stay encrypted under the data root's master.key (which the nodes read from the shared data
// directory, and which the schema's check value must match), tokens stay hashed. One transaction
// (the set is small), which bumps identity_version so that running nodes drop their caches;
// ON CONFLICT DO NOTHING makes a rerun harmless. Verified by counts and a sha256 over every row in
// key order, computed on both sides; a row that differs (an identity already edited on
// PostgreSQL) fails the check, naming the table.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateMasterKey, openIdentityStore } from '../identity/identity-store.ts';
import { IDENTITY_SCHEMA } from '../identity/identity-postgres.ts';
import type { PgDatabase } from './meta/postgres.ts';

interface IdentityTable {
  name: string;
  /** columns in SQLite, and their names in PostgreSQL */
  columns: [sqlite: string, postgres: string][];
  key: string;
}

const TABLES: IdentityTable[] = [
  { name: 'orgs', key: 'id', columns: [['id', 'id'], ['created_at', 'created_at']] },
  {
    name: 'keys',
    key: 'access_key',
    columns: [['access_key', 'access_key'], ['org', 'org'], ['user', 'user_name'], ['namespace', 'namespace'], ['level', 'level'], ['secret_enc', 'secret_enc'], ['secret_name', 'secret_name'], ['created_at', 'created_at'], ['default_region', 'default_region']],
  },
  {
    name: 'admin_tokens',
    key: 'id',
    columns: [['id', 'id'], ['name', 'name'], ['namespaces', 'namespaces'], ['token_hash', 'token_hash'], ['created_at', 'created_at'], ['created_by', 'created_by'], ['revoked_at', 'revoked_at']],
  },
  // The Kubernetes API's Roles, RoleBindings and users' metadata (src/kube); absent from data roots
  // made before it, which then have none to copy.
  { name: 'kube_objects', key: 'kind, namespace, name', columns: [['kind', 'kind'], ['namespace', 'namespace'], ['name', 'name'], ['body', 'body']] },
];

/** A row as bytes for the checksum: every value by its type, so that '1' and 1 and null differ. */
function rowDigest(hash: ReturnType<typeof createHash>, values: unknown[]): void {
  for (const v of values) {
    if (v === null || v === undefined) hash.update('n;');
    else if (Buffer.isBuffer(v)) hash.update(`b${v.length}:`).update(v);
    else hash.update(`${typeof v === 'string' ? 's' : 'd'}${String(v).length}:${String(v)}`);
  }
}

export async function migrateIdentity(dataDir: string, database: PgDatabase): Promise<string> {
  const file = join(dataDir, 'identity.db');
  if (!existsSync(file)) return 'identity: no identity.db in the data root, nothing to migrate';
  // Creates the schema (under the migrations lock) and refuses a database whose identity was
  // made under another master key.
  await (await openIdentityStore({ dataDir, masterKey: loadOrCreateMasterKey(dataDir), database })).close();
  const source = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // One read transaction: the copy and its check see one state of the file.
    const present = new Set(source.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    // A file from before a column was added (identity-sqlite.ts addedColumns) reads it as NULL.
    const columnsOf = (table: string) => new Set((source.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    const select = (t: IdentityTable) => {
      if (!present.has(t.name)) return [];
      const have = columnsOf(t.name);
      return source.prepare(`SELECT ${t.columns.map(([c]) => (have.has(c) ? `"${c}"` : 'NULL')).join(', ')} FROM ${t.name} ORDER BY ${t.key}`).raw().all() as unknown[][];
    };
    const rows = source.transaction(() => new Map(TABLES.map((t) => [t.name, select(t)])))();
    await database.transaction(async (client) => {
      await client.query(`UPDATE ${IDENTITY_SCHEMA}.identity_version SET version = version + 1`);
      for (const t of TABLES) {
        const names = t.columns.map(([, p]) => p).join(', ');
        const params = t.columns.map((_, i) => `$${i + 1}`).join(', ');
        for (const row of rows.get(t.name)!) await client.query(`INSERT INTO ${IDENTITY_SCHEMA}.${t.name} (${names}) VALUES (${params}) ON CONFLICT DO NOTHING`, row);
      }
    });
    const counts: string[] = [];
    for (const t of TABLES) {
      const want = createHash('sha256');
      for (const row of rows.get(t.name)!) rowDigest(want, row);
      const copied = await database.pool.query({ text: `SELECT ${t.columns.map(([, p]) => p).join(', ')} FROM ${IDENTITY_SCHEMA}.${t.name} ORDER BY ${t.key} COLLATE "C"`, rowMode: 'array' });
      const got = createHash('sha256');
      for (const row of copied.rows as unknown[][]) rowDigest(got, row);
      if (copied.rows.length !== rows.get(t.name)!.length || got.digest('hex') !== want.digest('hex')) {
        throw new Error(`identity: ${t.name} differs between identity.db and PostgreSQL after the copy (${rows.get(t.name)!.length} rows there, ${copied.rows.length} here): was the identity already changed on PostgreSQL?`);
      }
      counts.push(`${rows.get(t.name)!.length} ${t.name}`);
    }
    return `identity: ${counts.join(', ')} copied and verified (secrets stay encrypted under the data root's master.key)`;
  } finally {
    source.close();
  }
}
