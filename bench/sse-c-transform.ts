/*
 * SSE-C throughput, printed only (no assertions). Module-level figures; bench/sse-c.ts measures the server end to end.
 *   node --import tsx bench/sse-c-transform.ts [MiB=256]
 *
 * 1. In memory: a 64 KiB-buffer source, then pass-through / encrypt / decrypt, then a sink that
 *    discards. This measures the transform alone.
 * 2. Files, the way BlobStore uses them (fs streams with 1 MiB buffers, page cache, no fsync).
 *    Write: plain vs encrypt. Read: plain vs decrypt.
 * 3. Chunk-size comparison: 16 KiB, 64 KiB and 1 MiB, with a bench-only copy of the same
 *    per-chunk createCipheriv design. The real module is fixed at 64 KiB and should match the
 *    64 KiB row.
 * 4. End to end over loopback HTTP and HTTPS (self-signed certificate from the openssl CLI;
 *    SSE-C needs TLS in production). curl is the client, in its own process. GET streams a file
 *    (plain, or decrypted) and PUT streams the body into a file (plain, or encrypted).
 *    Skipped when curl or openssl is missing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ChunkSealer } from '../src/crypto/sse-c-seal.mjs';
import {
  createDecryptStream,
  encryptedSize,
  fullStoredRange,
  newObjectEncryption,
} from '../src/crypto/sse-c.ts';

const MiB = 1024 * 1024;

/**
 * The SSE-C sealer (what the blob writer threads run) as a stream, so that it can stand in a
 * pipeline here: plaintext in, the stored format out.
 */
function createEncryptStream(dataKey: Buffer): Transform {
  const sealer = new ChunkSealer(dataKey);
  return new Transform({
    transform(data: Buffer, _enc, done: TransformCallback) {
      sealer.write(data, (stored) => this.push(stored));
      done();
    },
    flush(done: TransformCallback) {
      sealer.end((stored) => this.push(stored));
      done();
    },
  });
}
const TOTAL = Number(process.argv[2] ?? 256) * MiB;
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function source(total: number, piece: number, pool: Buffer): Readable {
  let sent = 0;
  let i = 0;
  return new Readable({
    highWaterMark: piece,
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(piece, total - sent);
      // Different (immutable) slices of a random pool, so nothing is cached along the way.
      const off = (i++ * piece) % (pool.length - piece);
      this.push(pool.subarray(off, off + n));
      sent += n;
    },
  });
}

function sliceSource(data: Buffer, piece: number): Readable {
  let off = 0;
  return new Readable({
    highWaterMark: piece,
    read() {
      if (off >= data.length) return void this.push(null);
      this.push(data.subarray(off, off + piece));
      off += piece;
    },
  });
}

function sink(): Writable {
  return new Writable({
    highWaterMark: MiB,
    write(_c, _e, cb) {
      cb();
    },
    writev(_c, cb) {
      cb();
    },
  });
}

async function best(fn: () => Promise<void>): Promise<number> {
  let bestSec = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    await fn();
    bestSec = Math.min(bestSec, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return bestSec;
}

const fmt = (sec: number) => `${((TOTAL / MiB) / sec).toFixed(0).padStart(5)} MiB/s`;

// --- bench-only generic-chunk-size copy of the design, for the chunk-size comparison ----------

function ivFor(i: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(i, 8);
  return iv;
}
function aadFor(i: number, last: boolean): Buffer {
  const a = Buffer.alloc(9);
  a.writeUInt32BE(i, 4);
  a[8] = last ? 1 : 0;
  return a;
}

class GenericEnc extends Transform {
  private q: Buffer[] = [];
  private len = 0;
  private i = 0;
  constructor(private readonly key: Buffer, private readonly cs: number) {
    super({ readableHighWaterMark: cs + 16, writableHighWaterMark: cs });
  }
  override _transform(d: Buffer, _e: BufferEncoding, cb: TransformCallback) {
    this.q.push(d);
    this.len += d.length;
    while (this.len > this.cs) this.seal(this.cs, false);
    cb();
  }
  override _flush(cb: TransformCallback) {
    this.seal(this.len, true);
    cb();
  }
  private seal(n: number, last: boolean) {
    const c = createCipheriv('aes-256-gcm', this.key, ivFor(this.i));
    c.setAAD(aadFor(this.i, last));
    this.len -= n;
    while (n > 0) {
      const b = this.q[0]!;
      if (b.length <= n) {
        this.push(c.update(b));
        this.q.shift();
        n -= b.length;
      } else {
        this.push(c.update(b.subarray(0, n)));
        this.q[0] = b.subarray(n);
        n = 0;
      }
    }
    c.final();
    this.push(c.getAuthTag());
    this.i++;
  }
}

class GenericDec extends Transform {
  private q: Buffer[] = [];
  private len = 0;
  private i = 0;
  constructor(private readonly key: Buffer, private readonly cs: number, private readonly total: number) {
    super({ readableHighWaterMark: cs, writableHighWaterMark: cs + 16 });
  }
  override _transform(d: Buffer, _e: BufferEncoding, cb: TransformCallback) {
    this.q.push(d);
    this.len += d.length;
    while (this.len >= this.cs + 16 && this.i < this.total - 1) this.open(this.cs + 16, false);
    cb();
  }
  override _flush(cb: TransformCallback) {
    if (this.len > 0) this.open(this.len, true);
    cb();
  }
  private drain(n: number, fn: (b: Buffer) => void) {
    this.len -= n;
    while (n > 0) {
      const b = this.q[0]!;
      if (b.length <= n) {
        fn(b);
        this.q.shift();
        n -= b.length;
      } else {
        fn(b.subarray(0, n));
        this.q[0] = b.subarray(n);
        n = 0;
      }
    }
  }
  private open(n: number, last: boolean) {
    const d = createDecipheriv('aes-256-gcm', this.key, ivFor(this.i));
    d.setAAD(aadFor(this.i, last));
    const out: Buffer[] = [];
    this.drain(n - 16, (b) => out.push(d.update(b)));
    const tag: Buffer[] = [];
    this.drain(16, (b) => tag.push(b));
    d.setAuthTag(Buffer.concat(tag));
    d.final();
    for (const o of out) this.push(o);
    this.i++;
  }
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const key = randomBytes(32);
  const { dataKey } = newObjectEncryption({ key, keyMd5: '' });
  const pool = randomBytes(64 * MiB);
  const piece = 64 * 1024;

  console.log(`SSE-C throughput, ${TOTAL / MiB} MiB, best of ${ROUNDS}, node ${process.version}, openssl ${process.versions.openssl}`);

  // Pre-encrypt once for the decrypt runs.
  const storedParts: Buffer[] = [];
  const enc0 = createEncryptStream(dataKey);
  enc0.on('data', (b: Buffer) => storedParts.push(b));
  await pipeline(source(TOTAL, piece, pool), enc0);
  const stored = Buffer.concat(storedParts);
  storedParts.length = 0;
  if (stored.length !== encryptedSize(TOTAL)) throw new Error('size mismatch');

  console.log('\n1. in memory (transform only)');
  const tPass = await best(() => pipeline(source(TOTAL, piece, pool), new PassThrough(), sink()));
  const tEnc = await best(() => pipeline(source(TOTAL, piece, pool), createEncryptStream(dataKey), sink()));
  const tPassR = await best(() => pipeline(sliceSource(stored, MiB), new PassThrough(), sink()));
  const tDec = await best(() =>
    pipeline(sliceSource(stored, MiB), createDecryptStream(dataKey, fullStoredRange(TOTAL)), sink()),
  );
  // A PassThrough only moves references, so it is a floor for stream overhead, not a useful ratio.
  console.log(`   pass-through (64 KiB in)  ${fmt(tPass)}`);
  console.log(`   encrypt      (64 KiB in)  ${fmt(tEnc)}`);
  console.log(`   pass-through (1 MiB in)   ${fmt(tPassR)}`);
  console.log(`   decrypt      (1 MiB in)   ${fmt(tDec)}`);

  console.log('\n2. files (fs streams, 1 MiB buffers, page cache)');
  const dir = mkdtempSync(join(tmpdir(), 'strata-sse-bench-'));
  try {
    const plainPath = join(dir, 'plain');
    const encPath = join(dir, 'enc');
    const wPlain = await best(() =>
      pipeline(source(TOTAL, piece, pool), createWriteStream(plainPath, { highWaterMark: MiB })),
    );
    const wEnc = await best(() =>
      pipeline(source(TOTAL, piece, pool), createEncryptStream(dataKey), createWriteStream(encPath, { highWaterMark: MiB })),
    );
    const rPlain = await best(() => pipeline(createReadStream(plainPath, { highWaterMark: MiB }), sink()));
    const rDec = await best(() =>
      pipeline(
        createReadStream(encPath, { highWaterMark: MiB }),
        createDecryptStream(dataKey, fullStoredRange(TOTAL)),
        sink(),
      ),
    );
    console.log(`   write plain               ${fmt(wPlain)}`);
    console.log(`   write encrypted           ${fmt(wEnc)}   ${(wPlain / wEnc).toFixed(2)}x of plain`);
    console.log(`   read plain                ${fmt(rPlain)}`);
    console.log(`   read decrypted            ${fmt(rDec)}   ${(rPlain / rDec).toFixed(2)}x of plain`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('\n3. chunk size (bench-only copy of the design, in memory)');
  for (const cs of [16 * 1024, 64 * 1024, MiB]) {
    const parts: Buffer[] = [];
    const e = new GenericEnc(dataKey, cs);
    e.on('data', (b: Buffer) => parts.push(b));
    await pipeline(source(TOTAL, piece, pool), e);
    const st = Buffer.concat(parts);
    parts.length = 0;
    const chunks = Math.max(1, Math.ceil(TOTAL / cs));
    const te = await best(() => pipeline(source(TOTAL, piece, pool), new GenericEnc(dataKey, cs), sink()));
    const td = await best(() => pipeline(sliceSource(st, MiB), new GenericDec(dataKey, cs, chunks), sink()));
    const overhead = ((16 * chunks) / TOTAL) * 100;
    console.log(
      `   ${String(cs / 1024).padStart(4)} KiB  encrypt ${fmt(te)}  decrypt ${fmt(td)}  tag overhead ${overhead.toFixed(3)}%`,
    );
  }

  await endToEnd(dataKey, pool, piece);
}

function curl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-S', '-f', '-k', '--http1.1', ...args], { maxBuffer: 1 << 20 }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

async function endToEnd(dataKey: Buffer, pool: Buffer, piece: number): Promise<void> {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    console.log('\n4. end to end: skipped (needs curl and openssl)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'strata-sse-e2e-'));
  try {
    const plainPath = join(dir, 'plain');
    const encPath = join(dir, 'enc');
    const upload = join(dir, 'upload');
    await pipeline(source(TOTAL, piece, pool), createWriteStream(plainPath));
    await pipeline(source(TOTAL, piece, pool), createEncryptStream(dataKey), createWriteStream(encPath));
    await pipeline(source(TOTAL, piece, pool), createWriteStream(upload));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });

    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const fail = (err: unknown) => {
        res.destroy(err as Error);
      };
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-length': String(TOTAL) });
        const src = createReadStream(req.url === '/enc' ? encPath : plainPath, { highWaterMark: MiB });
        const steps = req.url === '/enc' ? [src, createDecryptStream(dataKey, fullStoredRange(TOTAL)), res] : [src, res];
        pipeline(steps as unknown as [Readable, Writable]).catch(fail);
      } else {
        const out = createWriteStream(join(dir, `put-${req.url === '/enc' ? 'enc' : 'plain'}`), { highWaterMark: MiB });
        const steps = req.url === '/enc' ? [req, createEncryptStream(dataKey), out] : [req, out];
        pipeline(steps as unknown as [Readable, Writable]).then(() => res.end('ok'), fail);
      }
    };
    const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    for (const [name, server, scheme] of [
      ['http ', createHttpServer(handler), 'http'],
      ['https', createHttpsServer(tls, handler), 'https'],
    ] as const) {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const gPlain = await best(() => curl(['-o', '/dev/null', `${base}/plain`]));
      const gEnc = await best(() => curl(['-o', '/dev/null', `${base}/enc`]));
      const pPlain = await best(() => curl(['-o', '/dev/null', '-T', upload, `${base}/plain`]));
      const pEnc = await best(() => curl(['-o', '/dev/null', '-T', upload, `${base}/enc`]));
      server.close();
      if (name === 'http ') console.log('\n4. end to end, loopback, curl client (server and client share 2 cores here)');
      console.log(`   ${name} GET plain ${fmt(gPlain)}  GET SSE-C ${fmt(gEnc)}  ${(gPlain / gEnc).toFixed(2)}x`);
      console.log(`   ${name} PUT plain ${fmt(pPlain)}  PUT SSE-C ${fmt(pEnc)}  ${(pPlain / pEnc).toFixed(2)}x`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
