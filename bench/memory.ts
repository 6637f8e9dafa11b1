// Memory stays flat with object size: upload, then download, one large object (default 5 GiB)
// through a Strata child process, and report the server's peak RSS (target < 200 MB).
//
// The upload is a generated stream (never a file, never held in memory) sent with
// UNSIGNED-PAYLOAD and a Content-Length; the download is streamed to /dev/null while hashed,
// and the SHA-256 must equal the upload's. RSS is sampled from /proc/<pid>/status every
// 200 ms; VmHWM (the kernel's own high-water mark) is reported beside the sampled peak.
//
// Run: npm run bench -- --memory [--size 5GiB] [--data-root DIR] [--keep]
//  or: node --import tsx bench/memory.ts [--size 1GiB]
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './flags.ts';
import { connect, send } from './load.ts';
import { benchAccessKey, benchSecretKey, memory, startStrata } from './procs.ts';
import { emptySha256, unsignedPayload } from './sigv4.ts';

const chunkBytes = 1 << 20;

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) throw new Error(`--size: cannot parse "${text}" (e.g. 5GiB, 512MiB, 1048576)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * scale);
}

/** `size` bytes of pseudo-random data, made 1 MiB at a time and hashed as it is produced. */
function generated(size: number, hash: ReturnType<typeof createHash>): Readable {
  const pattern = randomFillSync(Buffer.allocUnsafe(chunkBytes));
  let sent = 0;
  let index = 0n;
  return new Readable({
    highWaterMark: 4 * chunkBytes,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkBytes, size - sent);
      const chunk = Buffer.allocUnsafe(n);
      pattern.copy(chunk, 0, 0, n);
      // Every chunk differs: a stamp of its index in the first bytes.
      if (n >= 8) chunk.writeBigUInt64LE(index++, 0);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
}

class Sampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.take();
    this.timer = setInterval(() => this.take(), 200);
  }
  take(): void {
    try {
      const { rss } = memory(this.pid);
      if (rss > this.peak) this.peak = rss;
      this.samples++;
    } catch {
      // the process is gone
    }
  }
  stop(): void {
    clearInterval(this.timer);
    this.take();
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

export async function runMemoryBench(flags: Record<string, string>): Promise<void> {
  const size = parseSize(flags.size ?? '5GiB');
  const root = mkdtempSync(join(flags['data-root'] ?? tmpdir(), 'strata-membench-'));
  const strata = await startStrata({ dataDir: join(root, 'strata') });
  const t = connect('strata', strata.port, { accessKeyId: benchAccessKey, secretAccessKey: benchSecretKey, region: 'us-east-1' }, 2, 1_800_000);
  try {
    const idle = memory(strata.pid);
    log(`Strata pid ${strata.pid}: RSS at start ${mb(idle.rss)}; object size ${size.toLocaleString('en-US')} bytes`);
    await send(t, { method: 'PUT', path: '/membench', payloadHash: emptySha256 });

    const upHash = createHash('sha256');
    const upSampler = new Sampler(strata.pid);
    let t0 = performance.now();
    const progress = setInterval(() => log(`  uploading… server RSS ${mb(memory(strata.pid).rss)}`), 10_000);
    try {
      await send(t, { method: 'PUT', path: '/membench/large', body: generated(size, upHash), contentLength: size, payloadHash: unsignedPayload });
    } finally {
      clearInterval(progress);
    }
    const upMs = performance.now() - t0;
    upSampler.stop();
    const upDigest = upHash.digest('hex');
    log(`upload: ${(upMs / 1000).toFixed(1)} s, ${((size / upMs) * 1000 / 1e6).toFixed(0)} MB/s; peak RSS ${mb(upSampler.peak)}`);

    const downHash = createHash('sha256');
    const downSampler = new Sampler(strata.pid);
    t0 = performance.now();
    const signed = t.signer.sign('GET', '/membench/large', [], emptySha256);
    const res = await t.pool.request({ method: 'GET', path: signed.path, headers: signed.headers });
    if (res.statusCode !== 200) throw new Error(`GET: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 200)}`);
    let received = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        downHash.update(chunk);
        received += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(res.body, hashing, createWriteStream('/dev/null'));
    const downMs = performance.now() - t0;
    downSampler.stop();
    const downDigest = downHash.digest('hex');
    log(`download: ${(downMs / 1000).toFixed(1)} s, ${((received / downMs) * 1000 / 1e6).toFixed(0)} MB/s; peak RSS ${mb(downSampler.peak)}`);

    const hwm = memory(strata.pid).hwm;
    const intact = received === size && downDigest === upDigest;
    const peak = Math.max(upSampler.peak, downSampler.peak);
    const lines = [
      `## Strata memory with a ${(size / 1024 ** 3).toFixed(2)} GiB object (UNSIGNED-PAYLOAD upload from a generated stream, download to /dev/null)`,
      '',
      '| phase | time s | MB/s | peak RSS (sampled every 200 ms) |',
      '|---|---:|---:|---:|',
      `| upload | ${(upMs / 1000).toFixed(1)} | ${((size / upMs) * 1000 / 1e6).toFixed(0)} | ${mb(upSampler.peak)} |`,
      `| download | ${(downMs / 1000).toFixed(1)} | ${((received / downMs) * 1000 / 1e6).toFixed(0)} | ${mb(downSampler.peak)} |`,
      '',
      `RSS at start ${mb(idle.rss)}; peak sampled ${mb(peak)}; kernel high-water mark (VmHWM) ${mb(hwm)}; target < 200 MB: ${Math.max(peak, hwm) < 200e6 ? '✓' : '✗'}.`,
      `Integrity: ${intact ? 'SHA-256 of the download equals the upload' : `MISMATCH (received ${received} bytes; sha256 up ${upDigest}, down ${downDigest})`}.`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
    if (!intact) process.exitCode = 1;
  } finally {
    await t.pool.close();
    await strata.stop();
    if (flags.keep !== 'true') rmSync(root, { recursive: true, force: true });
    else log(`data kept in ${root}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runMemoryBench(parseFlags(process.argv.slice(2))).catch((err) => {
    process.stderr.write(`memory bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
