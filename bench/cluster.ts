// npm run bench -- --cluster: the PostgreSQL metadata engine as a second Strata target, in the
// same run as the SQLite node and the bare node:http baseline, then 2 and 3 nodes over one
// database and one data directory (load spread over the nodes). 4 KiB PUT and GET at
// concurrency 16 and a 1,000-key ListObjectsV2 page, as ratios to the baseline and to the SQLite
// node. The PostgreSQL server is a throw-away one (scripts/pg-server.sh) with fsync and
// synchronous commit on, so that its commits are as durable as the SQLite node's. All of it
// shares this machine's cores: with 2 cores, more nodes show the overhead of a cluster, not
// its scaling.
//
//   npm run bench -- --cluster [--repeats N] [--list-objects N]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connect, median, runLoad, send, type Target } from './load.ts';
import { benchAccessKey, benchSecretKey, cpuMs, repoRoot, startBaseline, startStrata, type ServerProcess } from './procs.ts';

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
const emptySha256 = createHash('sha256').update('').digest('hex');
const small = Buffer.alloc(4096, 7);
const smallSha = createHash('sha256').update(small).digest('hex');
const creds = { accessKeyId: benchAccessKey, secretAccessKey: benchSecretKey, region: 'us-east-1' };

interface Side {
  name: string;
  procs: ServerProcess[];
  targets: Target[];
}

interface Figures {
  put: number;
  get: number;
  listP50Ms: number;
  /** database transactions committed per 4 KiB PUT, autocommitted reads included (PostgreSQL sides) */
  xactsPerPut?: number;
  serverCpuMsPerPut: number;
}

async function populate(side: Side, listObjects: number): Promise<void> {
  const t = side.targets[0];
  for (const b of ['bench', 'bench-list']) await send(t, { method: 'PUT', path: `/${b}`, payloadHash: emptySha256 });
  await runLoad({ concurrency: 16, ops: 256, timeCapMs: 60_000, task: async (i) => (await send(side.targets[i % side.targets.length], { method: 'PUT', path: `/bench/get-4k/${i}`, body: small, payloadHash: smallSha })).bytes });
  await runLoad({
    concurrency: 32,
    ops: listObjects,
    timeCapMs: 600_000,
    task: async (i) => (await send(side.targets[i % side.targets.length], { method: 'PUT', path: `/bench-list/obj-${String(i).padStart(6, '0')}`, body: Buffer.alloc(0), payloadHash: emptySha256 })).bytes,
  });
}

async function measure(side: Side, tag: string, listObjects: number, db?: pg.Client): Promise<Figures> {
  const pick = (w: number) => side.targets[w % side.targets.length];
  const cpu = () => side.procs.reduce((n, p) => n + cpuMs(p.pid), 0);
  const xacts = async () => (db ? Number((await db.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n) : 0);
  const x0 = await xacts();
  const c0 = cpu();
  const puts = await runLoad({ concurrency: 16, ops: 3000, warmupOps: 200, timeCapMs: 30_000, task: async (i, w) => (await send(pick(w), { method: 'PUT', path: `/bench/put-4k/${tag}-${i}`, body: small, payloadHash: smallSha })).bytes });
  const serverCpuMsPerPut = (cpu() - c0) / Math.max(1, puts.ops + 200);
  const x1 = await xacts();
  const gets = await runLoad({ concurrency: 16, ops: 5000, warmupOps: 200, timeCapMs: 30_000, task: async (i, w) => (await send(pick(w), { method: 'GET', path: `/bench/get-4k/${i % 256}`, payloadHash: emptySha256, expectBytes: 4096 })).bytes });
  const pages = Math.max(1, Math.floor(listObjects / 1000));
  const lists = await runLoad({
    concurrency: 1,
    ops: 60,
    warmupOps: 5,
    timeCapMs: 30_000,
    task: async (i) => {
      const query: [string, string][] = [['list-type', '2'], ['max-keys', '1000']];
      if (i % pages > 0) query.push(['start-after', `obj-${String((i % pages) * 1000 - 1).padStart(6, '0')}`]);
      return (await send(side.targets[i % side.targets.length], { method: 'GET', path: '/bench-list', query, payloadHash: emptySha256 })).bytes;
    },
  });
  for (const r of [puts, gets, lists]) if (r.errors) throw new Error(`${side.name}: ${r.errorMessages.slice(0, 3).join('; ')}`);
  return {
    put: puts.ops / (puts.wallMs / 1000),
    get: gets.ops / (gets.wallMs / 1000),
    listP50Ms: median(lists.latenciesMs),
    xactsPerPut: db ? (x1 - x0) / (puts.ops + 200) : undefined,
    serverCpuMsPerPut,
  };
}

export async function runClusterBench(flags: Record<string, string>): Promise<void> {
  const repeats = Number(flags.repeats ?? 3);
  const listObjects = Number(flags['list-objects'] ?? 10_000);
  const root = mkdtempSync(join(flags['data-root'] ?? tmpdir(), 'strata-bench-cluster-'));
  // Its own directory under the temp dir: PostgreSQL runs as the postgres user, who may not enter `root`.
  const pgDir = mkdtempSync(join(tmpdir(), 'strata-bench-pg-'));
  const url = execFileSync(join(repoRoot, 'scripts', 'pg-server.sh'), ['start', pgDir], { encoding: 'utf8', env: { ...process.env, PG_SERVER_DURABLE: '1' } }).trim();
  const sides: Side[] = [];
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const start = async (name: string, dataDir: string, env: Record<string, string> = {}) => {
      const proc = await startStrata({ dataDir, extraEnv: env });
      return { proc, target: connect(name, proc.port, creds) };
    };
    const baseline = await startBaseline({ dataDir: join(root, 'baseline') });
    sides.push({ name: 'baseline', procs: [baseline], targets: [connect('baseline', baseline.port, creds)] });
    const sqlite = await start('sqlite', join(root, 'sqlite'));
    sides.push({ name: 'Strata, SQLite', procs: [sqlite.proc], targets: [sqlite.target] });
    const shared = join(root, 'shared');
    const pgNodes = [await start('pg-1', shared, { STRATA_METADATA_URL: url })];
    sides.push({ name: 'Strata, PostgreSQL, 1 node', procs: [pgNodes[0].proc], targets: [pgNodes[0].target] });
    for (const s of sides) {
      log(`populating ${s.name}`);
      await populate(s, listObjects);
    }
    pgNodes.push(await start('pg-2', shared, { STRATA_METADATA_URL: url }), await start('pg-3', shared, { STRATA_METADATA_URL: url }));
    sides.push({ name: 'Strata, PostgreSQL, 2 nodes', procs: pgNodes.slice(0, 2).map((n) => n.proc), targets: pgNodes.slice(0, 2).map((n) => n.target) });
    sides.push({ name: 'Strata, PostgreSQL, 3 nodes', procs: pgNodes.map((n) => n.proc), targets: pgNodes.map((n) => n.target) });

    const results = new Map<string, Figures[]>();
    for (let rep = 0; rep < repeats; rep++) {
      // Interleaved, and in the opposite order on every other repeat, so that drift hits all alike.
      const order = rep % 2 ? [...sides].reverse() : sides;
      for (const s of order) {
        log(`repeat ${rep + 1}/${repeats}: ${s.name}`);
        const f = await measure(s, `r${rep}-${s.name.replace(/\W+/g, '')}`, listObjects, s.name.includes('PostgreSQL') ? db : undefined);
        results.set(s.name, [...(results.get(s.name) ?? []), f]);
      }
    }
    const med = (name: string, pick: (f: Figures) => number | undefined) => median((results.get(name) ?? []).map((f) => pick(f) ?? NaN));
    const base = { put: med('baseline', (f) => f.put), get: med('baseline', (f) => f.get), list: med('baseline', (f) => f.listP50Ms) };
    const lite = { put: med('Strata, SQLite', (f) => f.put), get: med('Strata, SQLite', (f) => f.get), list: med('Strata, SQLite', (f) => f.listP50Ms) };
    const lines = [
      `## Strata over PostgreSQL (median of ${repeats} interleaved repeats; ${cpus().length} cores shared by every server, PostgreSQL and the load generator)`,
      '',
      '| target | 4 KiB PUT c16 ops/s | × baseline | × SQLite | 4 KiB GET c16 ops/s | × baseline | × SQLite | list page p50 ms | × SQLite | server CPU ms/PUT | DB transactions/PUT |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    for (const s of sides) {
      const put = med(s.name, (f) => f.put);
      const get = med(s.name, (f) => f.get);
      const list = med(s.name, (f) => f.listP50Ms);
      const xacts = med(s.name, (f) => f.xactsPerPut);
      lines.push(
        `| ${s.name} | ${put.toFixed(0)} | ${(put / base.put).toFixed(2)}× | ${(put / lite.put).toFixed(2)}× | ${get.toFixed(0)} | ${(get / base.get).toFixed(2)}× | ${(get / lite.get).toFixed(2)}× | ${list.toFixed(2)} | ${(list / lite.list).toFixed(2)}× | ${med(s.name, (f) => f.serverCpuMsPerPut).toFixed(2)} | ${Number.isFinite(xacts) ? xacts.toFixed(2) : '–'} |`,
      );
    }
    lines.push('', `List page: ${listObjects.toLocaleString('en-US')} keys, 1,000 per page; baseline list p50 ${base.list.toFixed(2)} ms. Server CPU counts every Strata process of the side (not PostgreSQL). DB transactions per PUT count every committed transaction of the database during the PUT runs, the autocommitted reads included (bucket, current object, quota and usage before the body, then the commit).`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await db.end().catch(() => undefined);
    for (const s of sides) for (const t of s.targets) await t.pool.close().catch(() => undefined);
    for (const s of sides) for (const p of s.procs) await p.stop();
    execFileSync(join(repoRoot, 'scripts', 'pg-server.sh'), ['stop', pgDir]);
    rmSync(root, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
}
