// The load generator shared by Strata and the baseline: a keep-alive undici Pool to 127.0.0.1,
// every request SigV4-signed with a precomputed payload hash (or UNSIGNED-PAYLOAD), a bounded
// number of operations per run and a time cap. Latency is measured per operation, from
// dispatch until the last response byte has been read.
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { Signer, type Credentials } from './sigv4.ts';

export interface Target {
  name: string;
  port: number;
  pool: Pool;
  signer: Signer;
}

/**
 * A keep-alive pool to 127.0.0.1:port. A request whose response has not begun within
 * `headersTimeoutMs` (the server stalled) fails instead of holding up the benchmark.
 */
export function connect(name: string, port: number, creds: Credentials, connections = 32, headersTimeoutMs = 120_000): Target {
  const origin = `http://127.0.0.1:${port}`;
  const pool = new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: headersTimeoutMs,
    bodyTimeout: 60_000,
  });
  return { name, port, pool, signer: new Signer(creds, `127.0.0.1:${port}`) };
}

export interface RequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  /** raw path, e.g. /bucket/key (encoded when signed) */
  path: string;
  query?: [string, string][];
  body?: Buffer | Readable;
  /** content-length to send with a stream body */
  contentLength?: number;
  /** hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
  payloadHash: string;
  headers?: Record<string, string>;
  /** expected status (default 200) */
  status?: number;
  /** expected response body length in bytes */
  expectBytes?: number;
  /** keep the response body (small control responses) */
  keepBody?: boolean;
}

export interface ResponseInfo {
  status: number;
  bytes: number;
  body?: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export class RequestError extends Error {}

/**
 * Send one signed request; throws RequestError on an unexpected status or length. Uses undici's
 * dispatch API directly: response bytes are counted and dropped without a stream in between,
 * so that the load generator, which shares this machine's cores with the server, spends as
 * little CPU per byte as it can.
 */
export function send(target: Target, spec: RequestSpec): Promise<ResponseInfo> {
  const signed = target.signer.sign(spec.method, spec.path, spec.query ?? [], spec.payloadHash, spec.headers ?? {});
  if (spec.contentLength !== undefined) signed.headers['content-length'] = String(spec.contentLength);
  const wantStatus = spec.status ?? 200;
  return new Promise<ResponseInfo>((resolve, reject) => {
    let status = 0;
    const headers: ResponseInfo['headers'] = {};
    let keep = false;
    let bytes = 0;
    const chunks: Buffer[] = [];
    target.pool.dispatch(
      { method: spec.method, path: signed.path, headers: signed.headers, body: spec.body },
      {
        // undici's Pool takes the classic handler interface.
        onConnect() {},
        onHeaders(statusCode: number, rawHeaders: Buffer[]) {
          status = statusCode;
          if (statusCode < 200) return true; // 100-continue and other informational responses
          for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers[rawHeaders[i].toString('latin1').toLowerCase()] = rawHeaders[i + 1].toString('latin1');
          keep = spec.keepBody === true || statusCode !== wantStatus;
          return true;
        },
        onData(chunk: Buffer) {
          bytes += chunk.length;
          if (keep && bytes <= 4 << 20) chunks.push(chunk);
          return true;
        },
        onComplete() {
          const body = keep ? Buffer.concat(chunks) : undefined;
          if (status !== wantStatus) {
            const text = body!.toString('utf8');
            const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
            return reject(new RequestError(`${spec.method} ${spec.path}: HTTP ${status}${code ? ' ' + code : ' ' + text.slice(0, 200).replace(/\s+/g, ' ')}`));
          }
          if (spec.expectBytes !== undefined && bytes !== spec.expectBytes) {
            return reject(new RequestError(`${spec.method} ${spec.path}: got ${bytes} body bytes, expected ${spec.expectBytes}`));
          }
          resolve({ status, bytes, body, headers });
        },
        onError(err: Error) {
          reject(new RequestError(`${spec.method} ${spec.path}: ${err.message}`));
        },
      },
    );
  });
}

export interface LoadOptions {
  concurrency: number;
  /** operations to complete (upper bound) */
  ops: number;
  /** stop issuing operations after this many milliseconds */
  timeCapMs: number;
  /** untimed operations before measuring (warms connections and JIT) */
  warmupOps?: number;
  /** perform operation number i (0-based across workers); resolves to payload bytes moved */
  task: (i: number, worker: number) => Promise<number>;
  /** called right before and right after the timed section (server CPU snapshots) */
  onStart?: () => void;
  onEnd?: () => void;
}

export interface LoadResult {
  ops: number;
  errors: number;
  errorMessages: string[];
  latenciesMs: number[];
  bytes: number;
  wallMs: number;
  clientCpuMs: number;
  cappedByTime: boolean;
}

async function runWorkers(concurrency: number, total: number, deadline: number, task: LoadOptions['task'], out: { latencies: number[]; bytes: number; errors: number; messages: Map<string, number>; issued: number; capped: boolean }): Promise<void> {
  const worker = async (w: number) => {
    for (;;) {
      if (out.issued >= total) return;
      if (performance.now() > deadline) {
        out.capped = true;
        return;
      }
      const i = out.issued++;
      const t0 = performance.now();
      try {
        const bytes = await task(i, w);
        out.latencies.push(performance.now() - t0);
        out.bytes += bytes;
      } catch (err) {
        out.errors++;
        const msg = (err as Error).message ?? String(err);
        out.messages.set(msg, (out.messages.get(msg) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const warm = { latencies: [] as number[], bytes: 0, errors: 0, messages: new Map<string, number>(), issued: 0, capped: false };
  if (opts.warmupOps && opts.warmupOps > 0) {
    await runWorkers(Math.min(opts.concurrency, opts.warmupOps), opts.warmupOps, performance.now() + opts.timeCapMs, opts.task, warm);
  }
  const out = { latencies: [] as number[], bytes: 0, errors: 0, messages: new Map<string, number>(), issued: 0, capped: false };
  // Task indexes continue after the warm-up so that keys are not reused within a run.
  const offset = warm.issued;
  const task: LoadOptions['task'] = (i, w) => opts.task(i + offset, w);
  opts.onStart?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await runWorkers(opts.concurrency, opts.ops, t0 + opts.timeCapMs, task, out);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  opts.onEnd?.();
  const messages = new Map(out.messages);
  for (const [m, n] of warm.messages) messages.set(`(warm-up) ${m}`, (messages.get(`(warm-up) ${m}`) ?? 0) + n);
  return {
    ops: out.latencies.length,
    errors: out.errors + warm.errors,
    errorMessages: [...messages].map(([m, n]) => (n > 1 ? `${n}× ${m}` : m)),
    latenciesMs: out.latencies,
    bytes: out.bytes,
    wallMs,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    cappedByTime: out.capped,
  };
}

/** Percentile (0-100) of unsorted values, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
