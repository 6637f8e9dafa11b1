// Memory under hostile input: Strata in a child process (bin/strata's settings, an ephemeral
// port on 127.0.0.1, a temporary data directory, known credentials), driven for a bounded time
// by concurrent loops of malformed and abusive requests beside a share of valid small PUTs and
// GETs. The child's RSS is read from /proc/<pid>/status every second; a probe loaded into the
// child (--import of a data: URL, main thread only) reports process.memoryUsage() and its open
// TCP sockets beside it, to tell the JavaScript heap from Buffers from native memory.
//
// Run: node --import tsx bench/hostile.ts [--seconds 60] [--holders 48] [--smaps] [--heap-snapshot] [--keep]
//   --seconds N      how long the load runs (default 60; or HOSTILE_SECONDS)
//   --holders N      connections kept half-sent (body or headers never finished) at a time (default 48 each)
//   --only a,b       run only these loops: valid chunked xml headers sigv4 short-body half-body slowloris
//   --smaps          print the child's resident memory by mapping kind (from /proc/<pid>/smaps) at the peak and the end
//   --heap-snapshot  write a V8 heap snapshot of the child (SIGUSR2) at the end of the load, into the kept data root
//   --gc             after the settling 10 s, run a full collection in the child (--expose-gc) and sample again
//   --keep           keep the data directory and the server's log
//   --node-args 'A B' extra node options for the child, e.g. --node-args=--heap-growing-percent=0 (V8's own
//                    factor); the child's environment is this process's (less STRATA_*), so MALLOC_ARENA_MAX=2 passes
//
// Traffic goes to 127.0.0.1 only, over raw sockets (every request is `Connection: close`, so a
// response ends when the server closes). Every loop stops at the deadline; sockets still open
// then are destroyed. The only process ended is the child started here, by its PID.
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags } from './flags.ts';
import { benchAccessKey, benchSecretKey, memory, repoRoot } from './procs.ts';
import { Signer, emptySha256, sha256Hex, unsignedPayload } from './sigv4.ts';

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Reported by the child once a second (main thread). */
const probeSource = `
import { isMainThread } from 'node:worker_threads';
import { writeSync } from 'node:fs';
if (isMainThread && process.env.HOSTILE_PROBE_FD) {
  const fd = Number(process.env.HOSTILE_PROBE_FD);
  // --gc: the bench asks for a full collection (node --expose-gc) to tell garbage from retained memory.
  process.on('SIGWINCH', () => globalThis.gc?.());
  setInterval(() => {
    const m = process.memoryUsage();
    const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    try { writeSync(fd, JSON.stringify({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, sockets }) + '\\n'); } catch {}
  }, 1000).unref();
}`;

interface Probe {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  sockets: number;
}

interface Child {
  pid: number;
  port: number;
  latestProbe(): Probe | undefined;
  stop(): Promise<void>;
}

async function startChild(dataDir: string, logPath: string, heapSnapshot: boolean, nodeArgs: string[], gc: boolean): Promise<Child> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STRATA_') && k !== 'NODE_OPTIONS') env[k] = v;
  Object.assign(env, {
    UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '32', // as bin/strata sets it
    STRATA_HOST: '127.0.0.1',
    STRATA_PORT: '0',
    STRATA_ADMIN_PORT: '0',
    STRATA_DATA_DIR: dataDir,
    STRATA_ADMIN_ACCESS_KEY: benchAccessKey,
    STRATA_ADMIN_SECRET_KEY: benchSecretKey,
    STRATA_LOG_LEVEL: 'warn',
    HOSTILE_PROBE_FD: '3',
  });
  const tsx = join(repoRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
  const args = ['--import', tsx, '--import', `data:text/javascript,${encodeURIComponent(probeSource)}`];
  if (heapSnapshot) args.push('--heapsnapshot-signal=SIGUSR2');
  if (gc) args.push('--expose-gc');
  args.push(...nodeArgs);
  args.push(join(repoRoot, 'src', 'cli.ts'), 'serve');
  // The working directory is where a heap snapshot lands.
  const child = spawn(process.execPath, args, { env, cwd: dirname(dataDir), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const logFile = createWriteStream(logPath);
  child.stderr!.pipe(logFile, { end: false });
  let probe: Probe | undefined;
  createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on('line', (line) => {
    probe = JSON.parse(line) as Probe;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error('Strata did not report its port within 60 s')), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${seen}\n(log: ${logPath})`));
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = /Strata listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.pipe(logFile, { end: false });
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => fail(new Error(`Strata exited during start-up (code ${code}, signal ${signal})`)));
  });
  child.removeAllListeners('exit');
  return {
    pid: child.pid!,
    port,
    latestProbe: () => probe,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => {
          clearTimeout(kill);
          logFile.end();
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

// ---- raw HTTP over a socket ---------------------------------------------------------------

/** What became of one request: an HTTP status, or how the connection ended without one. */
type Outcome = string;

interface Exchange {
  /** request line and headers (without the blank line) */
  head: string;
  /** body pieces written after the head, in order */
  body?: Buffer[];
  /** after writing: 'read' waits for the response, 'end' half-closes first, 'hold' keeps the socket until the server acts or the run ends */
  then: 'read' | 'end' | 'hold';
  /** bytes of head written at a time, one piece every `trickleMs` (slowloris) */
  trickle?: { bytes: number; everyMs: number };
}

class Run {
  readonly counts = new Map<string, Map<Outcome, number>>();
  private readonly sockets = new Set<Socket>();
  held = 0;
  constructor(readonly port: number, readonly deadline: number, readonly signer: Signer) {}

  get over(): boolean {
    return Date.now() >= this.deadline;
  }

  count(kind: string, outcome: Outcome): void {
    let byOutcome = this.counts.get(kind);
    if (!byOutcome) this.counts.set(kind, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  /** Send one exchange; resolves to the response's status (or how it ended) once the connection is closed. */
  exchange(x: Exchange): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: this.port });
      this.sockets.add(socket);
      let response = '';
      let outcome: Outcome | undefined;
      let holding = false;
      const deadline = setTimeout(() => finish(x.then === 'hold' ? 'held to the end' : 'client timeout'), Math.max(0, x.then === 'hold' ? this.deadline - Date.now() : 30_000));
      const finish = (fallback: Outcome) => {
        clearTimeout(deadline);
        if (holding) this.held--;
        holding = false;
        this.sockets.delete(socket);
        socket.destroy();
        resolve(outcome ?? fallback);
      };
      socket.on('data', (chunk: Buffer) => {
        if (outcome !== undefined || response.length > 256) return;
        response += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
        if (m) outcome = m[1];
      });
      socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : (err.code ?? 'error')));
      socket.on('close', () => finish('closed, no response'));
      socket.on('connect', async () => {
        try {
          const head = Buffer.from(x.head + '\r\n\r\n', 'latin1');
          if (x.trickle) {
            const visible = head.subarray(0, head.length - 4); // never the blank line
            holding = true;
            this.held++;
            for (let at = 0; at < visible.length && !socket.destroyed && !this.over; at += x.trickle.bytes) {
              socket.write(visible.subarray(at, at + x.trickle.bytes));
              await sleep(x.trickle.everyMs);
            }
            return;
          }
          socket.write(head);
          for (const piece of x.body ?? []) {
            if (socket.destroyed) return;
            if (!socket.write(piece)) await new Promise((r) => socket.once('drain', r).once('close', r));
          }
          if (x.then === 'end') socket.end();
          if (x.then === 'hold') {
            holding = true;
            this.held++;
          }
        } catch {
          // the socket failed: its 'error' handler settles
        }
      });
    });
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}

// ---- requests -------------------------------------------------------------------------------

const bucket = 'hostile';

/** A signed request head: request line, Host, the signer's headers, then `plain` (unsigned) headers. */
function signedHead(run: Run, method: string, path: string, query: [string, string][], payloadHash: string, signed: Record<string, string> = {}, plain: Record<string, string> = {}): { head: string; authorization: string; amzDate: string } {
  const s = run.signer.sign(method, path, query, payloadHash, signed);
  const lines = [`${method} ${s.path} HTTP/1.1`, `Host: 127.0.0.1:${run.port}`, 'Connection: close'];
  for (const [k, v] of Object.entries({ ...s.headers, ...plain })) lines.push(`${k}: ${v}`);
  return { head: lines.join('\r\n'), authorization: s.headers.authorization, amzDate: s.headers['x-amz-date'] };
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** Valid small PUTs and GETs: the server keeps doing real work. */
async function validRequest(run: Run, loop: number, i: number): Promise<[string, Outcome]> {
  // Odd iterations read what the one before wrote.
  const key = `valid/${loop}/${(i >> 1) % 32}`;
  if (i % 2 === 1) {
    const { head } = signedHead(run, 'GET', `/${bucket}/${key}`, [], emptySha256);
    return ['valid GET', await run.exchange({ head, then: 'read' })];
  }
  const body = randomBytes(i % 4 === 0 ? 4096 : 256 * 1024);
  const { head } = signedHead(run, 'PUT', `/${bucket}/${key}`, [], sha256Hex(body), {}, { 'content-length': String(body.length) });
  return [`valid PUT ${body.length >> 10} KiB`, await run.exchange({ head, body: [body], then: 'read' })];
}

/** The signing key of the run's credentials, for chunk signatures. */
function signingKey(date: string): Buffer {
  const h = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  return h(h(h(h('AWS4' + benchSecretKey, date), 'us-east-1'), 's3'), 'aws4_request');
}

/** Malformed aws-chunked bodies behind a valid seed signature. */
async function chunkedRequest(run: Run, loop: number, i: number): Promise<[string, Outcome]> {
  const variant = pick(['bad size', 'missing signature', 'huge declared chunk', 'wrong second signature', 'truncated'] as const);
  const dataLength = 64 * 1024;
  const declaredDecoded = variant === 'huge declared chunk' ? 2 ** 40 : 2 * dataLength;
  const path = `/${bucket}/chunked/${loop}/${i % 8}`;
  const fixed = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(declaredDecoded) };
  // Content-Length is not signed: it is appended once the body is built.
  const { head: signed, authorization, amzDate } = signedHead(run, 'PUT', path, [], 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', fixed);
  const seed = /Signature=([0-9a-f]{64})/.exec(authorization)![1];
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const chunkSig = (previous: string, data: Buffer) =>
    createHmac('sha256', signingKey(amzDate.slice(0, 8))).update(`AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${emptySha256}\n${sha256Hex(data)}`).digest('hex');
  const data = randomBytes(dataLength);
  const sig1 = chunkSig(seed, data);
  let body: Buffer[];
  let contentLength: number;
  switch (variant) {
    case 'bad size':
      body = [Buffer.from(`zz;chunk-signature=${sig1}\r\n`), data];
      contentLength = body[0].length + data.length;
      break;
    case 'missing signature':
      body = [Buffer.from(`${dataLength.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')];
      contentLength = body.reduce((n, b) => n + b.length, 0);
      break;
    case 'huge declared chunk': {
      // Declares a 16 TiB chunk, sends 1 MiB of it and stops: Content-Length promises more.
      body = [Buffer.from(`fffffffffff;chunk-signature=${sig1}\r\n`), ...Array.from({ length: 16 }, () => data)];
      contentLength = 2 ** 30;
      break;
    }
    case 'wrong second signature':
      body = [Buffer.from(`${dataLength.toString(16)};chunk-signature=${sig1}\r\n`), data, Buffer.from(`\r\n${dataLength.toString(16)};chunk-signature=${'0'.repeat(64)}\r\n`), data, Buffer.from(`\r\n0;chunk-signature=${'0'.repeat(64)}\r\n\r\n`)];
      contentLength = body.reduce((n, b) => n + b.length, 0);
      break;
    case 'truncated':
      body = [Buffer.from(`${dataLength.toString(16)};chunk-signature=${sig1}\r\n`), data.subarray(0, dataLength / 2)];
      contentLength = body[0].length + dataLength + 200;
      break;
  }
  const head = `${signed}\r\ncontent-length: ${contentLength}`;
  const then = variant === 'huge declared chunk' || variant === 'truncated' ? 'end' : 'read';
  return [`aws-chunked: ${variant}`, await run.exchange({ head, body, then })];
}

/** Broken and oversized control documents. */
async function xmlRequest(run: Run, _loop: number, i: number): Promise<[string, Outcome]> {
  const variant = pick(['broken Delete', 'huge Delete', 'deep nesting', 'broken tagging', 'over the cap', 'huge policy'] as const);
  let body: Buffer;
  let query: [string, string][] = [['delete', '']];
  let method = 'POST';
  switch (variant) {
    case 'broken Delete': body = Buffer.from(`<Delete><Object><Key>k${i}</Key></Object><Object><Key>`); break;
    case 'huge Delete': body = Buffer.from('<Delete>' + `<Object><Key>${'k'.repeat(900)}</Key></Object>`.repeat(2000) + '</Delete>'); break;
    case 'deep nesting': body = Buffer.from('<Delete>' + '<a>'.repeat(200_000) + '</a>'.repeat(200_000) + '</Delete>'); break;
    case 'broken tagging': body = Buffer.from('<Tagging><TagSet><Tag><Key>a</Key><Value>' + 'v'.repeat(100_000)); query = [['tagging', '']]; method = 'PUT'; break;
    case 'over the cap': body = Buffer.alloc(3 * 2 ** 20, 0x3c); break;
    case 'huge policy': body = Buffer.from('{"Version":"2012-10-17","Statement":[' + '['.repeat(500_000) + ']'.repeat(500_000) + ']}'); query = [['policy', '']]; method = 'PUT'; break;
  }
  const md5 = createHash('md5').update(body).digest('base64');
  const { head } = signedHead(run, method, `/${bucket}`, query, unsignedPayload, { 'content-md5': md5 }, { 'content-length': String(body.length) });
  return [`xml: ${variant}`, await run.exchange({ head, body: [body], then: 'read' })];
}

/** Too many headers, or too long ones. */
async function headersRequest(run: Run, _loop: number, i: number): Promise<[string, Outcome]> {
  const variant = pick(['2,000 headers', 'one 80 KiB header', 'just under the limit'] as const);
  const { head } = signedHead(run, 'GET', `/${bucket}/valid/0/${i % 32}`, [], emptySha256);
  let extra: string;
  if (variant === '2,000 headers') extra = Array.from({ length: 2000 }, (_, n) => `x-junk-${n}: ${n}`).join('\r\n');
  else if (variant === 'one 80 KiB header') extra = `x-junk: ${'a'.repeat(80 * 1024)}`;
  else extra = Array.from({ length: 14 }, (_, n) => `x-junk-${n}: ${'b'.repeat(1000)}`).join('\r\n');
  return [`headers: ${variant}`, await run.exchange({ head: `${head}\r\n${extra}`, then: 'read' })];
}

/** Bad SigV4: wrong signatures, garbled Authorization, unknown keys, old dates; with a body. */
async function sigv4Request(run: Run, _loop: number, i: number): Promise<[string, Outcome]> {
  const variant = pick(['wrong signature', 'garbled authorization', 'unknown key', 'old date'] as const);
  const body = randomBytes(64 * 1024);
  let { head } = signedHead(run, 'PUT', `/${bucket}/sig/${i % 8}`, [], unsignedPayload, {}, { 'content-length': String(body.length) });
  if (variant === 'wrong signature') head = head.replace(/Signature=[0-9a-f]{64}/, `Signature=${'1'.repeat(64)}`);
  else if (variant === 'garbled authorization') head = head.replace(/authorization: .*/, `authorization: AWS4-HMAC-SHA256 ${'Credential='.repeat(300)}`);
  else if (variant === 'unknown key') head = head.replace(benchAccessKey, 'AKIAUNKNOWNUNKNOWN00');
  else head = head.replace(/x-amz-date: \d{8}/, 'x-amz-date: 20200101');
  return [`sigv4: ${variant}`, await run.exchange({ head, body: [body], then: 'read' })];
}

/** Declares a Content-Length, sends part of it and half-closes (FIN). */
async function shortBodyRequest(run: Run, loop: number, i: number): Promise<[string, Outcome]> {
  const size = pick([128 * 1024, 4 * 2 ** 20]);
  const { head } = signedHead(run, 'PUT', `/${bucket}/short/${loop}/${i % 8}`, [], unsignedPayload, {}, { 'content-length': String(size) });
  return [`Content-Length ${size >> 10} KiB, stops at half`, await run.exchange({ head, body: [randomBytes(size / 2)], then: 'end' })];
}

/** Headers sent, body never finished; the connection left open. */
async function halfBodyRequest(run: Run, loop: number, i: number): Promise<[string, Outcome]> {
  const size = pick([256 * 1024, 64 * 2 ** 20]);
  const sent = Math.floor(Math.random() * Math.min(size - 1, 512 * 1024));
  const { head } = signedHead(run, 'PUT', `/${bucket}/half/${loop}/${i % 4}`, [], unsignedPayload, {}, { 'content-length': String(size) });
  return [`half-sent body (of ${size >> 10} KiB)`, await run.exchange({ head, body: [randomBytes(sent)], then: 'hold' })];
}

/** Headers trickled a few bytes at a time and never finished (slowloris). */
async function slowHeadersRequest(run: Run, _loop: number, i: number): Promise<[string, Outcome]> {
  const { head } = signedHead(run, 'GET', `/${bucket}/valid/0/${i % 32}`, [], emptySha256);
  const padded = `${head}\r\n${Array.from({ length: 200 }, (_, n) => `x-slow-${n}: ${n}`).join('\r\n')}`;
  return ['slowloris headers', await run.exchange({ head: padded, then: 'hold', trickle: { bytes: 8, everyMs: 1000 } })];
}

type Maker = (run: Run, loop: number, i: number) => Promise<[string, Outcome]>;

/** The loops, by name (for --only), and how many of each run concurrently. */
const loopsByName: Record<string, [Maker, number | 'holders']> = {
  valid: [validRequest, 4],
  chunked: [chunkedRequest, 3],
  xml: [xmlRequest, 2],
  headers: [headersRequest, 2],
  sigv4: [sigv4Request, 2],
  'short-body': [shortBodyRequest, 2],
  'half-body': [halfBodyRequest, 'holders'],
  slowloris: [slowHeadersRequest, 'holders'],
};

async function loop(run: Run, make: Maker, index: number): Promise<void> {
  for (let i = 0; !run.over; i++) {
    try {
      const [kind, outcome] = await make(run, index, i);
      run.count(kind, outcome);
    } catch (err) {
      run.count('load script error', (err as Error).message.slice(0, 80));
    }
  }
}

// ---- memory -------------------------------------------------------------------------------

interface Sample {
  at: number;
  rss: number;
  probe?: Probe;
}

/**
 * Resident bytes of the child's memory by kind, from /proc/<pid>/smaps. Adjacent anonymous
 * mappings are taken together as one reservation (a reservation is split where part of it has
 * been made accessible): 4 GiB or more is a WebAssembly memory (V8 reserves its guard region),
 * 64 MiB on a 64 MiB boundary a glibc malloc arena of a thread, anything else V8's heap pages,
 * thread stacks and memory mapped for large allocations.
 */
function smapsBreakdown(pid: number): string {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const sums = new Map<string, number>();
  const add = (kind: string, bytes: number) => sums.set(kind, (sums.get(kind) ?? 0) + bytes);
  let region: { start: bigint; end: bigint; rss: number } | undefined;
  const closeRegion = () => {
    if (!region) return;
    const size = region.end - region.start;
    const kind = size >= 2n ** 32n ? 'WebAssembly memories (anonymous reservations of 4 GiB or more)' : size === 2n ** 26n && region.start % 2n ** 26n === 0n ? 'malloc arenas of threads (64 MiB reservations)' : 'other anonymous (V8 heap pages, stacks, large allocations)';
    add(kind, region.rss);
    region = undefined;
  };
  let current: { named: string | undefined } = { named: undefined };
  for (const line of text.split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (range) {
      const [start, end, name] = [BigInt('0x' + range[1]), BigInt('0x' + range[2]), range[3]];
      if (name) {
        closeRegion();
        current = { named: name === '[heap]' ? 'brk heap (the main malloc arena)' : name.startsWith('/') ? 'mapped files (code, libraries)' : name };
      } else {
        if (!region || region.end !== start) {
          closeRegion();
          region = { start, end, rss: 0 };
        } else region.end = end;
        current = { named: undefined };
      }
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const bytes = Number(rss[1]) * 1024;
    if (current.named !== undefined) add(current.named, bytes);
    else if (region) region.rss += bytes;
  }
  closeRegion();
  return [...sums].filter(([, v]) => v >= 2 ** 20).sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${mib(v).padStart(8)}  ${k}`).join('\n');
}

function describe(s: Sample | undefined): string {
  if (!s) return 'n/a';
  const p = s.probe;
  return `${mib(s.rss)}${p ? ` (heap used ${mib(p.heapUsed)} of ${mib(p.heapTotal)}, external ${mib(p.external)} of which ArrayBuffers ${mib(p.arrayBuffers)}; ${p.sockets} TCP sockets)` : ''}`;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const known = new Set(['seconds', 'holders', 'only', 'smaps', 'heap-snapshot', 'keep', 'node-args', 'gc']);
  for (const name of Object.keys(flags)) if (!known.has(name)) throw new Error(`unknown flag --${name}`);
  const seconds = Number(flags.seconds ?? process.env.HOSTILE_SECONDS ?? 60);
  const holders = Number(flags.holders ?? 48);
  if (!Number.isFinite(seconds) || seconds < 5 || seconds > 1800) throw new Error('--seconds takes 5-1800');
  if (!Number.isInteger(holders) || holders < 0 || holders > 1000) throw new Error('--holders takes 0-1000');
  const root = mkdtempSync(join(tmpdir(), 'strata-hostile-'));
  const child = await startChild(join(root, 'data'), join(root, 'strata.log'), flags['heap-snapshot'] === 'true', flags['node-args']?.split(' ').filter(Boolean) ?? [], flags.gc === 'true');
  log(`Strata pid ${child.pid} on port ${child.port}; log ${join(root, 'strata.log')}`);
  const signer = new Signer({ accessKeyId: benchAccessKey, secretAccessKey: benchSecretKey, region: 'us-east-1' }, `127.0.0.1:${child.port}`);
  const samples: Sample[] = [];
  const sample = () => {
    try {
      samples.push({ at: Date.now(), rss: memory(child.pid).rss, probe: child.latestProbe() });
    } catch {
      // the child is gone
    }
  };
  let peakSmaps = '';
  try {
    const setupRun = new Run(child.port, Date.now() + 30_000, signer);
    const created = await setupRun.exchange({ head: signedHead(setupRun, 'PUT', `/${bucket}`, [], emptySha256).head, then: 'read' });
    if (created !== '200') throw new Error(`CreateBucket: ${created}`);
    await sleep(2000); // the probe's first report
    sample();
    const start = samples[samples.length - 1];
    const startSmaps = flags.smaps === 'true' ? smapsBreakdown(child.pid) : '';
    log(`RSS at start ${describe(start)}; load for ${seconds} s`);

    const run = new Run(child.port, Date.now() + seconds * 1000, signer);
    let peak = start;
    const sampler = setInterval(() => {
      sample();
      const s = samples[samples.length - 1];
      if (s.rss > peak.rss) {
        peak = s;
        if (flags.smaps === 'true') peakSmaps = smapsBreakdown(child.pid);
      }
      if (samples.length % 10 === 0) log(`  RSS ${describe(s)}; client holds ${run.held} half-sent requests`);
    }, 1000);
    const only = flags.only?.split(',');
    for (const name of only ?? []) if (!(name in loopsByName)) throw new Error(`--only: unknown loop ${name}; known: ${Object.keys(loopsByName).join(' ')}`);
    const chosen = Object.entries(loopsByName).filter(([name]) => !only || only.includes(name));
    await Promise.all(chosen.flatMap(([, [make, n]]) => Array.from({ length: n === 'holders' ? holders : n }, (_, index) => loop(run, make, index))));
    run.destroyAll();
    sample();
    const endOfLoad = samples[samples.length - 1];
    if (flags['heap-snapshot'] === 'true') process.kill(child.pid, 'SIGUSR2');
    const endSmaps = flags.smaps === 'true' ? smapsBreakdown(child.pid) : '';
    await sleep(10_000);
    sample();
    const settled = samples[samples.length - 1];
    let collected: Sample | undefined;
    if (flags.gc === 'true') {
      process.kill(child.pid, 'SIGWINCH');
      await sleep(2500); // the collection, then the probe's next report
      sample();
      collected = samples[samples.length - 1];
    }
    clearInterval(sampler);

    const lines = [`## Strata RSS under the hostile mix (${seconds} s, ${holders} half-sent bodies and ${holders} slowloris connections held at a time)`, ''];
    lines.push(`- start: ${describe(start)}`, `- peak: ${describe(peak)}, ${((peak.at - run.deadline) / 1000 + seconds).toFixed(0)} s in`, `- end of load: ${describe(endOfLoad)}`, `- 10 s later: ${describe(settled)}`);
    if (collected) lines.push(`- after a full collection: ${describe(collected)}`);
    lines.push('');
    if (startSmaps) lines.push('Resident memory by mapping at the start:', '```', startSmaps, '```');
    if (peakSmaps) lines.push('At the peak:', '```', peakSmaps, '```');
    if (endSmaps) lines.push('At the end of the load:', '```', endSmaps, '```');
    lines.push('', '| request | outcome | count |', '|---|---|---:|');
    for (const [kind, outcomes] of [...run.counts].sort((a, b) => a[0].localeCompare(b[0]))) {
      for (const [outcome, n] of [...outcomes].sort((a, b) => b[1] - a[1])) lines.push(`| ${kind} | ${outcome} | ${n.toLocaleString('en-US')} |`);
    }
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await child.stop();
    if (flags.keep !== 'true' && flags['heap-snapshot'] !== 'true') rmSync(root, { recursive: true, force: true });
    else log(`data, log and any heap snapshot kept in ${root}`);
  }
}

main().catch((err) => {
  process.stderr.write(`hostile: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
