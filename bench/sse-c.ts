// SSE-C throughput of the server, end to end: PUT and GET of one large object (default 1 GiB)
// over HTTPS, unencrypted versus SSE-C, in the same run, interleaved, reported as a ratio.
// The target: SSE-C at least 0.6× the unencrypted figure.
//
//   node --import tsx bench/sse-c.ts [--mib 1024] [--repeats 3]
//
// Strata runs as a child process (bin/strata serve, fsync on, HTTPS from a throw-away self-signed
// certificate). Bodies are streamed from a reused 8 MiB buffer with UNSIGNED-PAYLOAD, so the
// client spends little CPU; downloads are counted and dropped. Loopback only, bounded.
import aws4 from 'aws4';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MiB = 1024 * 1024;
const sizeBytes = flag('mib', 1024) * MiB;
const repeats = flag('repeats', 3);
const repo = resolve(import.meta.dirname ?? '.', '..');
const accessKeyId = 'STRATABENCHSSECKEY01';
const secretAccessKey = 'strata-bench-sse-c-secret-0123456789abcdef';

const work = mkdtempSync(join(tmpdir(), 'strata-bench-ssec-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });

function startStrata(): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(join(repo, 'bin', 'strata'), ['serve'], {
      env: {
        ...process.env,
        STRATA_PORT: '0',
        STRATA_TLS_PORT: '0',
        STRATA_TLS_CERT: join(work, 'cert.pem'),
        STRATA_TLS_KEY: join(work, 'key.pem'),
        STRATA_DATA_DIR: join(work, 'data'),
        STRATA_ADMIN_ACCESS_KEY: accessKeyId,
        STRATA_ADMIN_SECRET_KEY: secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /HTTPS on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolvePromise({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`strata exited (${code}): ${out}`)));
  });
}

const dispatcher = new Agent({ connect: { ca: readFileSync(join(work, 'cert.pem')) } });
const customerKey = randomBytes(32);
const sseHeaders = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': customerKey.toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(customerKey).digest('base64'),
};

async function send(port: number, method: 'PUT' | 'GET', path: string, headers: Record<string, string>, body?: Readable): Promise<number> {
  const opts = { host: `127.0.0.1:${port}`, path, method, headers: { ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, service: 's3', region: 'us-east-1' };
  aws4.sign(opts, { accessKeyId, secretAccessKey });
  const res = await request(`https://127.0.0.1:${port}${path}`, { method, headers: opts.headers as Record<string, string>, body, dispatcher });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode}`);
  return bytes;
}

/** A body of `size` bytes made by repeating one random buffer (no per-byte work on the client). */
function body(size: number): Readable {
  const block = randomBytes(8 * MiB);
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (sizeBytes / 1e6) / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { proc, port } = await startStrata();
try {
  await send(port, 'PUT', '/bench-ssec', {});
  const results: Record<string, number[]> = { 'PUT plain': [], 'PUT SSE-C': [], 'GET plain': [], 'GET SSE-C': [] };
  for (let r = 0; r < repeats; r++) {
    process.stderr.write(`repeat ${r + 1}/${repeats}\n`);
    results['PUT plain'].push(await timed(() => send(port, 'PUT', '/bench-ssec/plain', { 'content-length': String(sizeBytes) }, body(sizeBytes))));
    results['PUT SSE-C'].push(await timed(() => send(port, 'PUT', '/bench-ssec/encrypted', { ...sseHeaders, 'content-length': String(sizeBytes) }, body(sizeBytes))));
    results['GET plain'].push(await timed(() => send(port, 'GET', '/bench-ssec/plain', {})));
    results['GET SSE-C'].push(await timed(() => send(port, 'GET', '/bench-ssec/encrypted', sseHeaders)));
  }
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  console.log(`\n## SSE-C throughput, ${sizeBytes / MiB} MiB object over HTTPS (median of ${repeats})\n`);
  console.log('| operation | unencrypted MB/s | SSE-C MB/s | ratio | target |');
  console.log('|---|---:|---:|---:|---:|');
  for (const op of ['PUT', 'GET']) {
    const plain = m[`${op} plain`];
    const enc = m[`${op} SSE-C`];
    const ratio = enc / plain;
    console.log(`| ${op} | ${plain.toFixed(0)} | ${enc.toFixed(0)} | ${ratio.toFixed(2)}× | ≥ 0.6× ${ratio >= 0.6 ? '✓' : '✗'} |`);
  }
} finally {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await dispatcher.close();
  rmSync(work, { recursive: true, force: true });
}
