// Listing scenarios over version history (Strata only: the baseline has no versions): a
// ListObjectsV2 page of a versioned bucket whose every key has 10 noncurrent versions, and a
// prefix whose first 100,000 keys are hidden behind delete markers, listed with ListObjectsV2
// (which must skip them) and ListObjectVersions (whose first page is markers; and a page of
// the live keys' versions, which sort after all the markers). Both buckets
// are populated through the API, like the list bucket: 100,000 DELETEs take about 25 s here
// (~4,000/s at 32 in flight), well within the time the list bucket takes, so there is no
// reason to write rows behind the server's back.
import { performance } from 'node:perf_hooks';
import { RequestError, send, type Target } from './load.ts';
import type { Scenario } from './scenarios.ts';
import { emptySha256, sha256Hex } from './sigv4.ts';

export const versionedBucket = 'bench-versioned';
export const markersBucket = 'bench-markers';
/** versions per key in the versioned bucket: the current one and 10 noncurrent */
export const versionsPerKey = 11;
/** keys under the markers prefix that have a current object, after all the marker keys */
export const liveKeys = 2000;
const markerPrefix = 'm/';

export const versionedKey = (n: number) => `ver-${String(n).padStart(6, '0')}`;
const deadKey = (n: number) => `${markerPrefix}dead-${String(n).padStart(6, '0')}`;
const liveKey = (n: number) => `${markerPrefix}live-${String(n).padStart(6, '0')}`;

function count(body: Buffer, element: string): number {
  let n = 0;
  for (let at = body.indexOf(element); at >= 0; at = body.indexOf(element, at + element.length)) n++;
  return n;
}

/** The keys of a ListObjectsV2 page, in order. */
function keysOf(body: Buffer): string[] {
  return [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
}

async function versionedBucketNamed(t: Target, name: string): Promise<void> {
  await send(t, { method: 'PUT', path: `/${name}`, payloadHash: emptySha256 });
  const xml = Buffer.from('<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>');
  await send(t, { method: 'PUT', path: `/${name}`, query: [['versioning', '']], body: xml, payloadHash: sha256Hex(xml) });
}

/** Run `jobs` requests with `concurrency` in flight; stops at the first failure. */
async function drive(jobs: number, concurrency: number, op: (n: number) => Promise<unknown>, progress: (done: number) => void): Promise<number> {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let n = next++; n < jobs; n = next++) {
      await op(n);
      if (++done % 20000 === 0) progress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - t0;
}

export interface Populated {
  requests: number;
  ms: number;
  opsPerSec: number;
}

/**
 * The versioned bucket: `keys` keys, each written `versionsPerKey` times (zero-byte PUTs) in
 * rounds, so that every key ends with one current and 10 noncurrent versions.
 */
export async function populateVersioned(t: Target, keys: number, progress: (done: number) => void): Promise<Populated> {
  await versionedBucketNamed(t, versionedBucket);
  const empty = Buffer.alloc(0);
  const requests = keys * versionsPerKey;
  const ms = await drive(requests, 32, (n) => send(t, { method: 'PUT', path: `/${versionedBucket}/${versionedKey(n % keys)}`, body: empty, payloadHash: emptySha256 }), progress);
  // The fixture is what it claims: the last key has all its versions.
  const res = await send(t, { method: 'GET', path: `/${versionedBucket}`, query: [['versions', ''], ['prefix', versionedKey(keys - 1)]], payloadHash: emptySha256, keepBody: true });
  const n = count(res.body!, '<Version>');
  if (n !== versionsPerKey) throw new Error(`${versionedBucket}: ${versionedKey(keys - 1)} has ${n} versions, expected ${versionsPerKey}`);
  return { requests, ms, opsPerSec: (requests / ms) * 1000 };
}

/**
 * The markers bucket: `markers` DELETEs of keys that never existed (each leaves a delete marker
 * as the key's only, current version), then `liveKeys` zero-byte objects that sort after them.
 */
export async function populateMarkers(t: Target, markers: number, progress: (done: number) => void): Promise<Populated> {
  await versionedBucketNamed(t, markersBucket);
  const empty = Buffer.alloc(0);
  let ms = await drive(markers, 32, (n) => send(t, { method: 'DELETE', path: `/${markersBucket}/${deadKey(n)}`, payloadHash: emptySha256, status: 204 }), progress);
  ms += await drive(liveKeys, 32, (n) => send(t, { method: 'PUT', path: `/${markersBucket}/${liveKey(n)}`, body: empty, payloadHash: emptySha256 }), () => undefined);
  return { requests: markers + liveKeys, ms, opsPerSec: ((markers + liveKeys) / ms) * 1000 };
}

type Counts = Scenario['counts'];

export function versionedListScenarios(listCounts: Counts, versionedKeys: number): Scenario[] {
  const pages = Math.max(1, Math.floor(versionedKeys / 1000));
  const want = Math.min(1000, versionedKeys);
  return [
    {
      id: 'list-1000-versioned',
      label: `ListObjectsV2 1,000-key page, ${versionsPerKey - 1} noncurrent versions per key`,
      opBytes: 0,
      strataOnly: true,
      needsVersioned: true,
      requires: ['get-4k', 'list-1000'],
      counts: listCounts,
      task: (t) => async (i) => {
        const page = i % pages;
        const query: [string, string][] = [['list-type', '2'], ['max-keys', '1000']];
        if (page > 0) query.push(['start-after', versionedKey(page * 1000 - 1)]);
        const res = await send(t, { method: 'GET', path: `/${versionedBucket}`, query, payloadHash: emptySha256, keepBody: true });
        const keys = keysOf(res.body!);
        // Each key once (its current version), in order: a page of 1,000 distinct keys.
        if (keys.length !== want || keys[0] !== versionedKey(page * 1000) || keys[want - 1] !== versionedKey(page * 1000 + want - 1)) {
          throw new RequestError(`versioned list page ${page}: ${keys.length} keys (${keys[0]}…${keys[keys.length - 1]}), expected ${want} from ${versionedKey(page * 1000)}`);
        }
        return res.bytes;
      },
    },
    {
      id: 'list-markers',
      label: 'ListObjectsV2 1,000-key page after the delete markers',
      opBytes: 0,
      strataOnly: true,
      needsMarkers: true,
      group: 'list-markers',
      requires: ['get-4k', 'list-1000'],
      counts: listCounts,
      task: (t) => async () => {
        const query: [string, string][] = [['list-type', '2'], ['prefix', markerPrefix], ['max-keys', '1000']];
        const res = await send(t, { method: 'GET', path: `/${markersBucket}`, query, payloadHash: emptySha256, keepBody: true });
        const keys = keysOf(res.body!);
        // No marker shows: the page starts at the first live key.
        if (keys.length !== 1000 || keys[0] !== liveKey(0) || keys[999] !== liveKey(999)) {
          throw new RequestError(`markers list: ${keys.length} keys (${keys[0]}…${keys[keys.length - 1]}), expected ${liveKey(0)}…${liveKey(999)}`);
        }
        return res.bytes;
      },
    },
    {
      id: 'list-markers-versions',
      label: 'ListObjectVersions first page (1,000 delete markers)',
      opBytes: 0,
      strataOnly: true,
      needsMarkers: true,
      group: 'list-markers',
      requires: ['get-4k', 'list-1000'],
      counts: listCounts,
      task: (t) => async () => {
        const query: [string, string][] = [['versions', ''], ['prefix', markerPrefix], ['max-keys', '1000']];
        const res = await send(t, { method: 'GET', path: `/${markersBucket}`, query, payloadHash: emptySha256, keepBody: true });
        const markers = count(res.body!, '<DeleteMarker>');
        if (markers !== 1000 || !res.body!.includes(`<Key>${deadKey(0)}</Key>`)) throw new RequestError(`markers versions page: ${markers} delete markers, expected 1000 from ${deadKey(0)}`);
        return res.bytes;
      },
    },
    {
      // The live keys' versions sort after every marker: the page should start with one seek to
      // the prefix, not walk the markers in front of it.
      id: 'list-markers-versions-live',
      label: 'ListObjectVersions first page of the live keys behind the markers',
      opBytes: 0,
      strataOnly: true,
      needsMarkers: true,
      group: 'list-markers',
      requires: ['get-4k', 'list-1000'],
      counts: listCounts,
      task: (t) => async () => {
        const query: [string, string][] = [['versions', ''], ['prefix', liveKey(0).slice(0, -6)], ['max-keys', '1000']];
        const res = await send(t, { method: 'GET', path: `/${markersBucket}`, query, payloadHash: emptySha256, keepBody: true });
        const versions = count(res.body!, '<Version>');
        if (versions !== 1000 || !res.body!.includes(`<Key>${liveKey(0)}</Key>`)) throw new RequestError(`live keys' versions page: ${versions} versions, expected 1000 from ${liveKey(0)}`);
        return res.bytes;
      },
    },
  ];
}
