// The benchmark scenarios: what each operation sends, which keys it touches, and how many
// operations a run may take. Every body is allocated and hashed before timing starts.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RequestError, send, type Target } from './load.ts';
import { emptySha256, sha256Hex, unsignedPayload } from './sigv4.ts';
import { versionedListScenarios } from './versioned-lists.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const bucket = 'bench';
export const listBucket = 'bench-list';

export type ServerKind = 'strata' | 'baseline';

export interface Body {
  data: Buffer;
  sha256: string;
}

/** Bodies shared by all scenarios: a few distinct small ones; one 64 MiB buffer whose slices serve as parts. */
export interface Bodies {
  small: Body[];
  medium: Body[];
  large: Body;
  parts: Body[];
}

export const partBytes = 16 * MiB;
export const partsPerUpload = 16;

function body(data: Buffer): Body {
  return { data, sha256: sha256Hex(data) };
}

export function makeBodies(): Bodies {
  const large = randomFillSync(Buffer.allocUnsafe(64 * MiB));
  return {
    small: Array.from({ length: 16 }, () => body(randomFillSync(Buffer.allocUnsafe(4 * KiB)))),
    medium: Array.from({ length: 4 }, () => body(randomFillSync(Buffer.allocUnsafe(MiB)))),
    large: body(large),
    // 16 MiB slices of the 64 MiB buffer: views, no copies.
    parts: Array.from({ length: 4 }, (_, n) => body(large.subarray(n * partBytes, (n + 1) * partBytes))),
  };
}

export interface Counts {
  ops: number;
  timeCapMs: number;
  warmupOps: number;
}

export interface Scenario {
  id: string;
  label: string;
  /** payload bytes of one operation (for MB/s) */
  opBytes: number;
  /** target ratio Strata/baseline (ops/s) at concurrency 16; undefined: reported only */
  target?: number;
  counts(concurrency: number, quick: boolean): Counts;
  /**
   * Build the task for one run. MPU runs one upload at a time and uses `concurrency` as the
   * number of parts in flight; every other scenario runs `concurrency` operations in flight.
   */
  task(t: Target, kind: ServerKind, concurrency: number, runTag: string): (i: number, worker: number) => Promise<number>;
  /** operations in flight as seen by the load generator */
  outerConcurrency?(concurrency: number): number;
  /** the GET fixture (prefix) this scenario reads */
  fixture?: string;
  /** needs the populated list bucket */
  needsList?: boolean;
  /** needs the versioned bucket (bench/versioned-lists.ts) */
  needsVersioned?: boolean;
  /** needs the delete-markers bucket (bench/versioned-lists.ts) */
  needsMarkers?: boolean;
  /** runs on Strata only (the baseline has no versions) */
  strataOnly?: boolean;
  /** `--only GROUP` selects every scenario of the group */
  group?: string;
  /** scenarios that must run too (the figures this one is reported against) */
  requires?: string[];
}

/** Operation counts: [at concurrency 1, above 1] for the full and the quick run; time caps [full, quick]. */
function counts(full: [number, number], quick: [number, number], capMs: [number, number], warmup = 0) {
  return (c: number, q: boolean): Counts => {
    const [c1, cN] = q ? quick : full;
    return { ops: c === 1 ? c1 : cN, timeCapMs: q ? capMs[1] : capMs[0], warmupOps: q ? Math.min(warmup, 8) : warmup };
  };
}

// Fixture objects that GET scenarios read (written before timing, by `setup`).
export const getFixtures = [
  { prefix: 'get-4k', count: 256, size: 4 * KiB },
  { prefix: 'get-1m', count: 64, size: MiB },
  { prefix: 'get-64m', count: 2, size: 64 * MiB },
];

function countKeys(buf: Buffer): number {
  let n = 0;
  let at = buf.indexOf('<Key>');
  while (at >= 0) {
    n++;
    at = buf.indexOf('<Key>', at + 5);
  }
  return n;
}

export function listKey(n: number): string {
  return `obj-${String(n).padStart(6, '0')}`;
}

export function makeScenarios(bodies: Bodies, listObjects: number, versionedKeys: number): Scenario[] {
  const put = (id: string, label: string, size: number, pick: (i: number) => Body, keyOf: (runTag: string, i: number, w: number) => string, unsigned: boolean, c: ReturnType<typeof counts>, target?: number): Scenario => ({
    id,
    label,
    opBytes: size,
    target,
    counts: c,
    task: (t, _kind, _c, runTag) => async (i, w) => {
      const b = pick(i);
      await send(t, { method: 'PUT', path: `/${bucket}/${keyOf(runTag, i, w)}`, body: b.data, payloadHash: unsigned ? unsignedPayload : b.sha256 });
      return b.data.length;
    },
  });
  const get = (id: string, label: string, fixture: (typeof getFixtures)[number], c: ReturnType<typeof counts>, target?: number): Scenario => ({
    id,
    label,
    opBytes: fixture.size,
    target,
    counts: c,
    fixture: fixture.prefix,
    task: (t) => async (i) => {
      const res = await send(t, { method: 'GET', path: `/${bucket}/${fixture.prefix}/${i % fixture.count}`, payloadHash: emptySha256, expectBytes: fixture.size });
      return res.bytes;
    },
  });

  const listPages = Math.max(1, Math.floor(listObjects / 1000));
  const listCounts = counts([200, 800], [30, 100], [5000, 2000], 4);
  return [
    // 4 KiB PUTs write new keys (small enough to keep); larger PUTs overwrite a bounded key set per worker.
    put('put-4k', '4 KiB PUT', 4 * KiB, (i) => bodies.small[i % 16], (tag, i) => `put-4k/${tag}-${i}`, false, counts([1500, 5000], [200, 500], [6000, 3000], 30), 0.45),
    get('get-4k', '4 KiB GET', getFixtures[0], counts([3000, 10000], [300, 1000], [5000, 2000], 50), 0.65),
    put('put-1m', '1 MiB PUT', MiB, (i) => bodies.medium[i % 4], (_tag, i, w) => `put-1m/w${w}-${i % 16}`, false, counts([200, 600], [30, 60], [6000, 3000], 4)),
    get('get-1m', '1 MiB GET', getFixtures[1], counts([500, 1500], [50, 150], [5000, 2000], 8), 0.8),
    put('put-64m', '64 MiB PUT (signed)', 64 * MiB, () => bodies.large, (_tag, _i, w) => `put-64m/w${w}`, false, counts([8, 16], [2, 4], [12000, 8000]), 0.6),
    put('put-64m-unsigned', '64 MiB PUT (UNSIGNED-PAYLOAD)', 64 * MiB, () => bodies.large, (_tag, _i, w) => `put-64m/w${w}`, true, counts([8, 16], [2, 4], [12000, 8000]), 0.85),
    get('get-64m', '64 MiB GET', getFixtures[2], counts([8, 32], [2, 4], [10000, 6000]), 0.85),
    {
      id: 'mpu-256m',
      label: '256 MiB multipart (16 × 16 MiB; c = parts in flight)',
      opBytes: partBytes * partsPerUpload,
      counts: counts([2, 2], [1, 1], [15000, 15000]),
      outerConcurrency: () => 1,
      task: (t, kind, concurrency) => async () => {
        const key = 'mpu-256m/object';
        let uploadId = '';
        if (kind === 'strata') {
          const created = await send(t, { method: 'POST', path: `/${bucket}/${key}`, query: [['uploads', '']], payloadHash: emptySha256, keepBody: true });
          uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body!.toString('utf8'))?.[1] ?? '';
          if (!uploadId) throw new RequestError(`CreateMultipartUpload: no UploadId in ${created.body!.toString('utf8').slice(0, 200)}`);
        }
        const etags: string[] = new Array(partsPerUpload);
        let next = 0;
        const uploadParts = async () => {
          for (;;) {
            const n = next++;
            if (n >= partsPerUpload) return;
            const b = bodies.parts[n % bodies.parts.length];
            if (kind === 'strata') {
              const res = await send(t, { method: 'PUT', path: `/${bucket}/${key}`, query: [['partNumber', String(n + 1)], ['uploadId', uploadId]], body: b.data, payloadHash: b.sha256 });
              etags[n] = String(res.headers.etag ?? '');
            } else {
              // The baseline's equivalent: the same bytes, split and sent the same way, as plain PUTs.
              await send(t, { method: 'PUT', path: `/${bucket}/${key}.part${n + 1}`, body: b.data, payloadHash: b.sha256 });
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, partsPerUpload) }, uploadParts));
        if (kind === 'strata') {
          const xml = Buffer.from(
            `<CompleteMultipartUpload>${etags.map((e, n) => `<Part><PartNumber>${n + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
          );
          const done = await send(t, { method: 'POST', path: `/${bucket}/${key}`, query: [['uploadId', uploadId]], body: xml, payloadHash: sha256Hex(xml), keepBody: true });
          const text = done.body!.toString('utf8');
          // S3 may report a failed Complete inside a 200 response.
          if (!text.includes('<CompleteMultipartUploadResult')) throw new RequestError(`CompleteMultipartUpload: ${text.slice(0, 200)}`);
        }
        return partBytes * partsPerUpload;
      },
    },
    {
      id: 'list-1000',
      label: 'ListObjectsV2 1,000-key page',
      opBytes: 0,
      needsList: true,
      // The page cost is reported in small GETs.
      requires: ['get-4k'],
      counts: listCounts,
      task: (t) => async (i) => {
        const page = i % listPages;
        const query: [string, string][] = [['list-type', '2'], ['max-keys', '1000']];
        // start-after the last key of the previous page: every page is a full one.
        if (page > 0) query.push(['start-after', listKey(page * 1000 - 1)]);
        const res = await send(t, { method: 'GET', path: `/${listBucket}`, query, payloadHash: emptySha256, keepBody: true });
        const keys = countKeys(res.body!);
        const want = Math.min(1000, listObjects);
        if (keys !== want) throw new RequestError(`list page ${page}: ${keys} keys, expected ${want}`);
        return res.bytes;
      },
    },
    ...versionedListScenarios(listCounts, versionedKeys),
  ];
}

/** Untimed preparation of one server: buckets and the objects the chosen GET scenarios read. */
export async function setup(t: Target, bodies: Bodies, fixtures: string[]): Promise<void> {
  for (const name of [bucket, listBucket]) {
    await send(t, { method: 'PUT', path: `/${name}`, payloadHash: emptySha256 }).catch((err: Error) => {
      if (!/BucketAlreadyOwnedByYou/.test(err.message)) throw err;
    });
  }
  for (const f of getFixtures) {
    if (!fixtures.includes(f.prefix)) continue;
    const source = f.size === 4 * KiB ? bodies.small : f.size === MiB ? bodies.medium : [bodies.large];
    const jobs = Array.from({ length: f.count }, (_, n) => n);
    const worker = async () => {
      for (let n = jobs.shift(); n !== undefined; n = jobs.shift()) {
        const b = source[n % source.length];
        await send(t, { method: 'PUT', path: `/${bucket}/${f.prefix}/${n}`, body: b.data, payloadHash: b.sha256 });
      }
    };
    await Promise.all(Array.from({ length: f.size >= 64 * MiB ? 1 : 8 }, worker));
  }
}

/** Fill the list bucket with `count` zero-byte objects through the API, `concurrency` PUTs in flight. */
export async function populateList(t: Target, count: number, concurrency: number, progress: (done: number) => void): Promise<{ ms: number; errors: string[] }> {
  const empty = Buffer.alloc(0);
  let next = 0;
  let done = 0;
  const errors: string[] = [];
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const n = next++;
      if (n >= count) return;
      try {
        await send(t, { method: 'PUT', path: `/${listBucket}/${listKey(n)}`, body: empty, payloadHash: emptySha256 });
      } catch (err) {
        if (errors.length < 20) errors.push((err as Error).message);
        if (errors.length >= 20) throw new Error(`populating ${listBucket} failed:\n${errors.join('\n')}`);
      }
      if (++done % 10000 === 0) progress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ms: performance.now() - t0, errors };
}
