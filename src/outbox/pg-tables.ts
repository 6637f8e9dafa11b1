// The outbox and the notification topics on PostgreSQL: tables in the region's schema, created
// here if missing under the migrations' advisory lock (nodes start together). Rows are recorded
// by the change's own transaction client (PgOutboxWriter); the workers use the pool. Only the
// node holding the region's outbox lease delivers (see worker.ts), so per-key order holds
// across nodes.
import type pg from 'pg';
import type { Topic, TopicTable } from '../notify/topics.ts';
import type { OutboxCounter, OutboxEntry, OutboxQueued, OutboxRow, OutboxSettlement, OutboxTable } from './outbox.ts';

/** Run `fn` in a transaction of its own on one pooled connection. */
async function inTransaction(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function createPgOutboxTables(pool: pg.Pool, schema: string, lockKey: string): Promise<void> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${schema}.outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        key text COLLATE "C" NOT NULL,
        payload text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        due_at bigint NOT NULL,
        created_at bigint NOT NULL,
        last_error text
      );
      CREATE INDEX IF NOT EXISTS outbox_by_key ON ${schema}.outbox (key, id);
      CREATE TABLE IF NOT EXISTS ${schema}.outbox_counters (
        kind text NOT NULL,
        name text NOT NULL,
        delivered bigint NOT NULL DEFAULT 0,
        retried bigint NOT NULL DEFAULT 0,
        dropped bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (kind, name)
      );
      CREATE TABLE IF NOT EXISTS ${schema}.topics (
        org text NOT NULL,
        name text NOT NULL,
        endpoint text NOT NULL,
        secret text,
        opaque_data text,
        created_at bigint NOT NULL,
        PRIMARY KEY (org, name)
      );`);
  });
}

/** Inside a change's transaction, on its client. */
export async function pgEnqueue(client: pg.PoolClient, schema: string, entries: OutboxEntry[]): Promise<void> {
  const now = Date.now();
  for (const e of entries) {
    await client.query(`INSERT INTO ${schema}.outbox (kind, key, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5)`, [e.kind, e.key, e.payload, e.dueAt ?? now, now]);
  }
}

type TopicRow = { org: string; name: string; endpoint: string; secret: string | null; opaque_data: string | null; created_at: number };
const toTopic = (r: TopicRow): Topic => ({ org: r.org, name: r.name, endpoint: r.endpoint, secret: r.secret, opaqueData: r.opaque_data, createdAt: Number(r.created_at) });
const toRow = (r: OutboxRow): OutboxRow => ({ ...r, id: Number(r.id), due_at: Number(r.due_at), created_at: Number(r.created_at) });

export class PgOutbox implements OutboxTable, TopicTable {
  constructor(private readonly pool: pg.Pool, private readonly schema: string) {}

  async due(now: number, limit: number): Promise<OutboxRow[]> {
    const s = this.schema;
    const result = await this.pool.query<OutboxRow>(
      `SELECT o.* FROM ${s}.outbox o WHERE o.id IN (SELECT MIN(id) FROM ${s}.outbox GROUP BY key) AND o.due_at <= $1 ORDER BY o.id LIMIT $2`,
      [now, limit],
    );
    return result.rows.map(toRow);
  }

  async batch(key: string, limit: number): Promise<OutboxRow[]> {
    return (await this.pool.query<OutboxRow>(`SELECT * FROM ${this.schema}.outbox WHERE key = $1 ORDER BY id LIMIT $2`, [key, limit])).rows.map(toRow);
  }

  private inTransaction(fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    return inTransaction(this.pool, fn);
  }

  private count(client: pg.PoolClient, kind: string, name: string, delivered: number, retried: number, dropped: number): Promise<unknown> {
    return client.query(
      `INSERT INTO ${this.schema}.outbox_counters AS c (kind, name, delivered, retried, dropped) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (kind, name) DO UPDATE SET delivered = c.delivered + excluded.delivered, retried = c.retried + excluded.retried, dropped = c.dropped + excluded.dropped`,
      [kind, name, delivered, retried, dropped],
    );
  }

  settle(s: OutboxSettlement): Promise<void> {
    return this.inTransaction(async (client) => {
      await client.query(`DELETE FROM ${this.schema}.outbox WHERE id = ANY($1::bigint[])`, [s.remove]);
      if ((s.delivered ?? 0) + (s.dropped ?? 0) > 0) await this.count(client, s.kind, s.name, s.delivered ?? 0, 0, s.dropped ?? 0);
    });
  }

  retryLater(row: OutboxRow, dueAt: number, error: string, name: string): Promise<void> {
    return this.inTransaction(async (client) => {
      await client.query(`UPDATE ${this.schema}.outbox SET attempts = attempts + 1, due_at = $1, last_error = $2 WHERE id = $3`, [dueAt, error, row.id]);
      await this.count(client, row.kind, name, 0, 1, 0);
    });
  }

  async hurry(key: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.outbox SET due_at = 0 WHERE key = $1`, [key]);
  }

  async queued(): Promise<OutboxQueued[]> {
    const s = this.schema;
    const rows = (
      await this.pool.query<OutboxQueued>(
        `SELECT kind, key, COUNT(*) AS queued, COUNT(*) FILTER (WHERE attempts > 0) AS retrying, MIN(created_at) AS oldest,
           (SELECT last_error FROM ${s}.outbox i WHERE i.key = o.key ORDER BY id LIMIT 1) AS last_error
         FROM ${s}.outbox o GROUP BY kind, key ORDER BY kind, key`,
      )
    ).rows;
    return rows.map((r) => ({ ...r, queued: Number(r.queued), retrying: Number(r.retrying), oldest: Number(r.oldest) }));
  }

  async counters(): Promise<OutboxCounter[]> {
    return (await this.pool.query<OutboxCounter>(`SELECT * FROM ${this.schema}.outbox_counters ORDER BY kind, name`)).rows;
  }

  // ---- topics ----

  async put(t: Topic): Promise<'created' | 'updated'> {
    const result = await this.pool.query<{ inserted: boolean }>(
      `INSERT INTO ${this.schema}.topics (org, name, endpoint, secret, opaque_data, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org, name) DO UPDATE SET endpoint = excluded.endpoint, secret = excluded.secret, opaque_data = excluded.opaque_data
       RETURNING (xmax = 0) AS inserted`,
      [t.org, t.name, t.endpoint, t.secret, t.opaqueData, t.createdAt],
    );
    return result.rows[0]?.inserted ? 'created' : 'updated';
  }

  async get(org: string, name: string): Promise<Topic | undefined> {
    const row = (await this.pool.query<TopicRow>(`SELECT * FROM ${this.schema}.topics WHERE org = $1 AND name = $2`, [org, name])).rows[0];
    return row ? toTopic(row) : undefined;
  }

  async list(org?: string): Promise<Topic[]> {
    const result = org === undefined
      ? await this.pool.query<TopicRow>(`SELECT * FROM ${this.schema}.topics ORDER BY org, name`)
      : await this.pool.query<TopicRow>(`SELECT * FROM ${this.schema}.topics WHERE org = $1 ORDER BY name`, [org]);
    return result.rows.map(toTopic);
  }

  async delete(org: string, name: string): Promise<boolean> {
    return ((await this.pool.query(`DELETE FROM ${this.schema}.topics WHERE org = $1 AND name = $2`, [org, name])).rowCount ?? 0) > 0;
  }
}
