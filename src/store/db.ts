// SQLite access for one region's metadata: schema migrations, and durable commits.
//
// Durability without blocking the event loop: the database runs in WAL mode with
// synchronous=NORMAL, so a commit appends to the WAL and returns without fsync (better-sqlite3
// is synchronous; an fsync there would stall every request). `durable()` then fsyncs the WAL
// file through our own descriptor on the libuv thread pool, and concurrent commits share one
// fsync (group commit). A write is acknowledged only after that fsync, so it survives a power
// loss, and it survives kill -9 regardless because the WAL bytes are already in the kernel.
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';

export type Db = Database.Database;

const migrations: string[] = [
  `CREATE TABLE buckets (
     name TEXT PRIMARY KEY,
     owner_org TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     acl TEXT,
     policy TEXT,
     tags TEXT,
     config TEXT NOT NULL DEFAULT '{}'
   ) WITHOUT ROWID;
   CREATE INDEX buckets_by_owner ON buckets(owner_org, name);

   CREATE TABLE objects (
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     owner_org TEXT NOT NULL,
     -- content-type, content-encoding, ..., user metadata (x-amz-meta-*), tags, acl, checksums
     meta TEXT NOT NULL,
     -- one blob for a simple PUT, or a JSON manifest of part blobs after multipart complete
     blob TEXT,
     manifest TEXT,
     sse TEXT,
     PRIMARY KEY (bucket, key)
   ) WITHOUT ROWID;

   CREATE TABLE uploads (
     upload_id TEXT PRIMARY KEY,
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     initiated INTEGER NOT NULL,
     owner_org TEXT NOT NULL,
     initiator TEXT NOT NULL,
     meta TEXT NOT NULL,
     sse TEXT
   ) WITHOUT ROWID;
   CREATE INDEX uploads_by_key ON uploads(bucket, key, initiated, upload_id);

   CREATE TABLE parts (
     upload_id TEXT NOT NULL,
     part_number INTEGER NOT NULL,
     size INTEGER NOT NULL,
     stored_size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     blob TEXT NOT NULL,
     checksum TEXT,
     sse TEXT,
     PRIMARY KEY (upload_id, part_number)
   ) WITHOUT ROWID;

   -- Blobs no longer referenced by any row, removed from disk after the commit that
   -- released them (and again at start-up if the process died in between).
   CREATE TABLE dead_blobs (blob TEXT PRIMARY KEY) WITHOUT ROWID;

   -- Bytes stored per owning organisation (objects + unfinished parts), for quotas.
   CREATE TABLE usage (
     org TEXT PRIMARY KEY,
     bytes INTEGER NOT NULL DEFAULT 0,
     objects INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;`,
  // Per-organisation quota overrides for this region (absent: the configured default).
  `CREATE TABLE quotas (
     org TEXT PRIMARY KEY,
     bytes INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // Small blobs kept in the database (see store/blobs.ts). A rowid table: its rows are large.
  `CREATE TABLE inline_blobs (
     id TEXT PRIMARY KEY,
     data BLOB NOT NULL
   );`,
  // Versioning. objects keeps exactly what it kept (each key's current version, unless that is a
  // delete marker), so listings and the unversioned path are unchanged; each row now has its
  // version id (NULL: the "null" version, as every object written before this migration) and a
  // sequence number that orders a key's versions. object_versions holds the rest: noncurrent
  // versions and delete markers, newest first within a key. A key's rows there are all older
  // than its objects row; when it has none, its newest object_versions row is a delete marker.
  `ALTER TABLE objects ADD COLUMN version_id TEXT;
   ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE object_versions (
     bucket TEXT NOT NULL,
     key TEXT NOT NULL,
     seq INTEGER NOT NULL,
     version_id TEXT,
     delete_marker INTEGER NOT NULL DEFAULT 0,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     last_modified INTEGER NOT NULL,
     owner_org TEXT NOT NULL,
     meta TEXT NOT NULL,
     blob TEXT,
     manifest TEXT,
     sse TEXT,
     PRIMARY KEY (bucket, key, seq DESC)
   ) WITHOUT ROWID;`,
  // Requester-pays accounting: what each other organisation's requests to a requester-pays bucket
  // were charged (requests, body bytes received and sent), for `strata usage`. The bucket's owner
  // is part of the key, so a bucket name taken again by another organisation starts afresh.
  `CREATE TABLE requester_charges (
     payer_org TEXT NOT NULL,
     owner_org TEXT NOT NULL,
     bucket TEXT NOT NULL,
     requests INTEGER NOT NULL DEFAULT 0,
     bytes_in INTEGER NOT NULL DEFAULT 0,
     bytes_out INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (payer_org, owner_org, bucket)
   ) WITHOUT ROWID;`
];

export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Keep the WAL from growing without bound between automatic checkpoints.
  db.pragma('journal_size_limit = 67108864');
  migrateSchema(db);
  return db;
}

/**
 * Runs the migrations from the database's user_version up to `target` (all of them by default).
 * Migrations are only ever appended, so the schema at version N is the same for every release that
 * reached N: the upgrade test's fixture (test/fixtures/sql-dump.ts) rebuilds an old schema this way.
 */
export function migrateSchema(db: Db, target = migrations.length): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let i = version; i < target; i++) {
    db.transaction(() => {
      db.exec(migrations[i]);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}

/**
 * Coalesces fsyncs of one file or directory (the WAL, a blob shard directory): callers that
 * arrive while one runs share the next, and the descriptor stays open between them.
 */
export class FileSyncer {
  private handle: FileHandle | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly path: string, private readonly enabled: boolean) {}

  async sync(): Promise<void> {
    if (!this.enabled) return;
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.flush().finally(() => (this.running = undefined));
      return this.running;
    }
    // One fsync is in flight and may have started before our commit: queue exactly one more.
    this.queued = this.running.then(() => {
      this.queued = undefined;
      this.running = this.flush().finally(() => (this.running = undefined));
      return this.running;
    });
    return this.queued;
  }

  private async flush(): Promise<void> {
    if (!this.handle) this.handle = await open(this.path, 'r');
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.running;
    await this.queued;
    await this.handle?.close();
    this.handle = undefined;
  }
}

/**
 * Values read from a database that another connection (another process on the same data root,
 * such as the CLI) may change: the whole cache is dropped whenever PRAGMA data_version moves,
 * which it does when another connection commits. Writes made through this process's own
 * connection do not move it, so they must call delete() or clear(). Bounded: at `maxEntries`
 * the cache starts over.
 */
export class DataVersionCache<V> {
  private readonly entries = new Map<string, V>();
  private version = -1;
  // A prepared statement: db.pragma() would compile the statement again on every call.
  private readonly dataVersion: Database.Statement;

  constructor(db: Db, private readonly maxEntries = 10_000) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /** The cached value for `key`, else `load()`'s, which is cached when `keep` accepts it. */
  get(key: string, load: () => V, keep: (value: V) => boolean = () => true): V {
    const version = this.dataVersion.get() as number;
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    if (this.entries.has(key)) return this.entries.get(key) as V;
    const value = load();
    if (keep(value)) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
