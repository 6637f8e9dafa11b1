// Accelerated reads: cache-hit GET throughput on an edge node against GET throughput at the
// origin, for the same objects.
//
//   node --import tsx bench/accel.ts [--sizes 1,64] [--concurrency 1,8] [--seconds 6]
//
// Two `bin/strata serve` processes share one temporary data root (shared identity): the origin
// serves region ord1, the edge serves lga1 and reaches ord1 through STRATA_REGION_ENDPOINTS.
// Objects of each size (MiB) are uploaded to ord1, read once through the edge's accelerated
// host (accel-object.ord1.localhost, a miss that fills the cache; timed as "miss (fill)"), then
// read repeatedly:
//   origin     GET http://127.0.0.1:<origin>/bench/<key>            (the region's own API)
//   cache hit  GET with Host: accel-object.ord1.localhost:<edge>     (served from the edge's cache)
// Each run lasts --seconds at a given concurrency; throughput is payload bytes / wall time in
// MB/s (10^6 bytes). Every request is SigV4-signed; bodies are counted and dropped by the
// client (undici dispatch API). Both servers and the client share this machine's cores, so the
// figures compare the two paths on one machine; they are not network numbers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { cpuMs, repoRoot } from './procs.ts';
import { emptySha256, sha256Hex, Signer } from './sigv4.ts';

const accessKey = 'STRATABENCHADMINKEY1';
const secretKey = 'strata-bench-secret-key-0123456789abcdef';
const MiB = 1024 * 1024;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const sizes = flag('sizes', '1,64').split(',').map(Number);
const concurrencies = flag('concurrency', '1,8').split(',').map(Number);
const seconds = Number(flag('seconds', '6'));
/** --prof DIR: write a V8 CPU profile of the edge process into DIR (read it with bench/profile-summary.ts) */
const profDir = flag('prof', '');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  port: number;
}

function start(region: string, port: number, dataDir: string, env: Record<string, string>, cpuProfDir = ''): Promise<Proc> {
  // With a profile directory, run node directly (--cpu-prof is not allowed in NODE_OPTIONS).
  const [command, args] = cpuProfDir
    ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, '--import', join(repoRoot, 'node_modules/tsx/dist/esm/index.mjs'), join(repoRoot, 'src/cli.ts'), 'serve']]
    : [join(repoRoot, 'bin/strata'), ['serve']];
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      STRATA_DATA_DIR: dataDir,
      STRATA_PORT: String(port),
      STRATA_ADMIN_PORT: '0',
      STRATA_REGIONS: region,
      STRATA_ADMIN_ACCESS_KEY: accessKey,
      STRATA_ADMIN_SECRET_KEY: secretKey,
      STRATA_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${region} did not start:\n${out}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Strata listening on')) {
        clearTimeout(timer);
        resolve({ child, port });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${region} exited (${code}):\n${out}`)));
  });
}

function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

interface Endpoint {
  pool: Pool;
  host: string;
  signer: Signer;
}

function endpoint(port: number, host: string): Endpoint {
  return {
    pool: new Pool(`http://127.0.0.1:${port}`, { connections: 16, keepAliveTimeout: 120_000, headersTimeout: 600_000, bodyTimeout: 600_000 }),
    host,
    signer: new Signer({ accessKeyId: accessKey, secretAccessKey: secretKey, region: 'us-east-1' }, host),
  };
}

/** One signed request; the body is counted and dropped. Resolves to [status, bytes, x-strata-cache]. */
function send(ep: Endpoint, method: 'GET' | 'PUT', path: string, body?: Buffer): Promise<[number, number, string | undefined]> {
  const signed = ep.signer.sign(method, path, [], body ? sha256Hex(body) : emptySha256);
  const headers = { ...signed.headers, host: ep.host };
  return new Promise((resolve, reject) => {
    let status = 0;
    let bytes = 0;
    let cache: string | undefined;
    ep.pool.dispatch(
      { method, path: signed.path, headers, body },
      {
        onConnect() {},
        onHeaders(code: number, raw: Buffer[]) {
          status = code;
          for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toString('latin1').toLowerCase() === 'x-strata-cache') cache = raw[i + 1].toString('latin1');
          return true;
        },
        onData(chunk: Buffer) {
          bytes += chunk.length;
          return true;
        },
        onComplete() {
          resolve([status, bytes, cache]);
        },
        onError: reject,
      },
    );
  });
}

async function originStats(port: number): Promise<{ full: number }> {
  const res = await request(`http://127.0.0.1:${port}/_strata/accel/stats`);
  return ((await res.body.json()) as { origin: { full: number } }).origin;
}

interface Row {
  size: string;
  path: string;
  concurrency: number;
  ops: number;
  mbps: number;
  serverCpuMsPerGiB: number;
}

async function measure(ep: Endpoint, path: string, size: number, concurrency: number, pid: number, want?: string): Promise<Omit<Row, 'size' | 'path'>> {
  const deadline = performance.now() + seconds * 1000;
  let ops = 0;
  let bytes = 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const [status, n, cache] = await send(ep, 'GET', path);
        if (status !== 200 || n !== size) throw new Error(`GET ${path}: HTTP ${status}, ${n} bytes`);
        if (want && cache !== want) throw new Error(`GET ${path}: x-strata-cache ${cache}, expected ${want}`);
        ops++;
        bytes += n;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  return { concurrency, ops, mbps: bytes / wall / 1e6, serverCpuMsPerGiB: cpu / (bytes / 2 ** 30) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'strata-bench-accel-'));
  let origin: Proc | undefined;
  let edge: Proc | undefined;
  try {
    const [po, pe] = [await freePort(), await freePort()];
    const endpoints = `ord1=http://127.0.0.1:${po},lga1=http://127.0.0.1:${pe}`;
    const maxSize = Math.max(...sizes) * MiB;
    origin = await start('ord1', po, join(root, 'data'), { STRATA_REGION_ENDPOINTS: endpoints });
    edge = await start('lga1', pe, join(root, 'data'), {
      STRATA_REGION_ENDPOINTS: endpoints,
      STRATA_ACCEL_TTL_SECONDS: '3600',
      STRATA_ACCEL_CACHE_BYTES: String(Math.max(1024 * MiB, 8 * maxSize)),
      STRATA_ACCEL_CACHE_DIR: join(root, 'cache'),
    }, profDir);
    const o = endpoint(po, `127.0.0.1:${po}`);
    const e = endpoint(pe, `accel-object.ord1.localhost:${pe}`);
    const [created] = await send(o, 'PUT', '/bench');
    if (created !== 200) throw new Error(`create bucket: HTTP ${created}`);
    // Warm both processes (connections, JIT) with one small object before timing anything.
    await send(o, 'PUT', '/bench/warm', randomBytes(64 * 1024));
    for (let i = 0; i < 20; i++) {
      await send(o, 'GET', '/bench/warm');
      await send(e, 'GET', '/bench/warm');
    }
    const rows: Row[] = [];
    for (const sizeMiB of sizes) {
      const size = sizeMiB * MiB;
      const body = randomBytes(size);
      const keys = Array.from({ length: 4 }, (_, i) => `/bench/obj-${sizeMiB}m-${i}`);
      for (const k of keys) {
        const [s] = await send(o, 'PUT', k, body);
        if (s !== 200) throw new Error(`PUT ${k}: HTTP ${s}`);
      }
      // Misses: each fill streams from the origin while the client reads the growing file.
      const t0 = performance.now();
      for (const k of keys) {
        const [s, n, cache] = await send(e, 'GET', k);
        if (s !== 200 || n !== size || cache !== 'miss') throw new Error(`first GET ${k}: ${s} ${n} ${cache}`);
      }
      const missMbps = (keys.length * size) / ((performance.now() - t0) / 1000) / 1e6;
      rows.push({ size: `${sizeMiB} MiB`, path: 'edge miss (fill from origin)', concurrency: 1, ops: keys.length, mbps: missMbps, serverCpuMsPerGiB: NaN });
      const before = (await originStats(po)).full;
      for (const c of concurrencies) {
        rows.push({ size: `${sizeMiB} MiB`, path: 'origin GET', ...(await measure(o, keys[0], size, c, origin.child.pid!)) });
        rows.push({ size: `${sizeMiB} MiB`, path: 'edge cache hit', ...(await measure(e, keys[0], size, c, edge.child.pid!, 'hit')) });
      }
      const after = (await originStats(po)).full;
      if (after !== before) throw new Error(`cache-hit runs reached the origin ${after - before} times`);
    }
    await o.pool.close();
    await e.pool.close();
    const lines = [
      `Accelerated reads, ${seconds} s per run, ${new Date().toISOString()}, node ${process.version}`,
      '',
      '| object | path | concurrency | GETs | MB/s | server CPU ms / GiB |',
      '|---|---|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.size} | ${r.path} | ${r.concurrency} | ${r.ops} | ${r.mbps.toFixed(0)} | ${Number.isNaN(r.serverCpuMsPerGiB) ? '—' : r.serverCpuMsPerGiB.toFixed(0)} |`),
      '',
      'Ratio cache hit / origin:',
      ...sizes.flatMap((s) =>
        concurrencies.map((c) => {
          const hit = rows.find((r) => r.size === `${s} MiB` && r.path === 'edge cache hit' && r.concurrency === c)!;
          const org = rows.find((r) => r.size === `${s} MiB` && r.path === 'origin GET' && r.concurrency === c)!;
          return `- ${s} MiB, concurrency ${c}: ${(hit.mbps / org.mbps).toFixed(2)}×`;
        }),
      ),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await Promise.all([stop(edge), stop(origin)]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
