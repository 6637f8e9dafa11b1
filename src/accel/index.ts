// Accelerated endpoints: accel-object.<region>.<base> serves GetObject and HeadObject for
// buckets of <region> from a read cache on the node that receives the request.
//
//   edge.ts         the accelerated host: refusals, SigV4, authorize(), SSE-C, serveObject
//   cache.ts        the on-disk LRU cache: entries, TTL revalidation, single-flight fills
//   origin.ts       what a region answers about an object (metadata + stored bytes)
//   origin-client.ts  fetching that answer from another node over HTTP (undici)
//   node-auth.ts    HMAC authentication of node-to-node requests (key derived from master.key)
//   wire.ts         the metadata document and version token exchanged between nodes
//
// Where the origin is: regionEndpoints (STRATA_REGION_ENDPOINTS, region=URL) names the node
// serving each region; a region with an endpoint is always fetched over HTTP, even when this
// process serves it too. A region this process serves and that has no endpoint is read from the
// local RegionStore in process (LocalOrigin): no HTTP hop, but the same cache, TTL and
// counters, so the accelerated host behaves identically on a single-process deployment.
//
// Internal endpoints on the S3 listener (handleInternal):
//   GET /_strata/accel/v1/object?...   node-authenticated origin reads (see origin.ts)
//   GET /_strata/accel/stats           JSON counters, no authentication: they are numbers only
//                                      (no names, keys or sizes of individual objects)
//
// The cache lives in <accelCacheDir>/node-<regions served>/, so processes that share one data
// root (one process per region) never share or clean up each other's cache files. Nodes of a
// cluster (metadata in PostgreSQL) serve the same regions from one shared data directory: each
// adds its host name and port (its pid when the port is ephemeral), and fills its own cache.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { regionEndpointMap } from '../config.ts';
import { S3Error, isS3Error } from '../errors.ts';
import type { AccelService, Services } from '../ops/operation.ts';
import type { ResolvedRequest } from '../addressing.ts';
import { sendError } from '../http/reply.ts';
import { loadOrCreateMasterKey } from '../identity/identity-store.ts';
import { ReadCache, type CacheStats } from './cache.ts';
import { handleAccelRequest } from './edge.ts';
import { deriveNodeKey, verifyNodeRequest } from './node-auth.ts';
import { HttpOrigin } from './origin-client.ts';
import { answerFromStore, LocalOrigin, newOriginStats, parseOriginQuery, type Origin, type OriginStats } from './origin.ts';
import { encodeMetaHeader, META_HEADER, META_LENGTH_HEADER, OBJECT_PATH, STATS_PATH, STORED_LENGTH_HEADER } from './wire.ts';

export { ACCEL_ONLY_MESSAGE } from './edge.ts';

/** The cache's own counters, plus its size and what this node served as an origin. */
export interface AccelStats extends CacheStats {
  /** bytes of data files (complete and being filled) */
  bytes: number;
  /** objects whose bytes are cached (complete or being filled) */
  entries: number;
  /** entries including metadata-only and negative ones */
  metaEntries: number;
  capacity: number;
  ttlSeconds: number;
  /** what this node served as an origin for other nodes (and for its own in-process cache) */
  origin: OriginStats;
}

export interface AccelServiceImpl extends AccelService {
  stats(): AccelStats;
  readonly cacheDir: string;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export function createAccelService(services: Services): AccelServiceImpl {
  const { config } = services;
  const nodeKey = deriveNodeKey(loadOrCreateMasterKey(config.dataDir));
  const endpoints = regionEndpointMap(config);
  const originStats = newOriginStats();
  const http = new HttpOrigin(endpoints, nodeKey);
  const local = new LocalOrigin(services.regions, originStats);
  const originFor = (region: string): Origin => (endpoints.has(region) ? http : local);
  const warn = logLevels.indexOf(config.logLevel) >= 0 && logLevels.indexOf(config.logLevel) <= 2;
  const log = (message: string, err?: unknown) => {
    if (warn) process.stderr.write(`${message}${err ? `: ${(err as Error).message ?? String(err)}` : ''}\n`);
  };
  const regionsServed = [...config.regions].sort().join('+');
  const node = config.metadataUrl ? `-${hostname()}-${config.port || `pid${process.pid}`}` : '';
  const cacheDir = join(config.accelCacheDir, `node-${regionsServed}${node}`);
  const cache = new ReadCache({ dir: cacheDir, capacity: config.accelCacheBytes, ttlMs: config.accelTtlSeconds * 1000, originFor, log });

  const stats = (): AccelStats => ({
    ...cache.stats,
    bytes: cache.bytes,
    entries: cache.dataEntries,
    metaEntries: cache.size,
    capacity: cache.capacity,
    ttlSeconds: config.accelTtlSeconds,
    origin: { ...originStats },
  });

  async function handleInternal(raw: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> {
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!path.startsWith('/_strata/accel/')) return false;
    const isHead = raw.method === 'HEAD';
    try {
      if (raw.method !== 'GET' && raw.method !== 'HEAD') throw new S3Error('MethodNotAllowed');
      if (path === STATS_PATH) {
        const body = Buffer.from(JSON.stringify(stats()));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store', 'x-amz-request-id': requestId });
        res.end(isHead ? undefined : body);
        return true;
      }
      if (path !== OBJECT_PATH) throw new S3Error('InvalidRequest', 'Unknown internal endpoint.');
      try {
        verifyNodeRequest(nodeKey, raw.method ?? 'GET', url, raw.headers);
      } catch (err) {
        originStats.rejected++;
        throw err;
      }
      const parsed = parseOriginQuery(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), raw.headers);
      if (!parsed) throw new S3Error('InvalidRequest', 'Malformed internal request.');
      const store = services.regions.get(parsed.region);
      if (!store) throw new S3Error('InvalidRequest', `Region ${parsed.region} is not served here.`);
      const out = await answerFromStore(store, parsed.query, originStats);
      if (out.status === 'changed') throw new S3Error('PreconditionFailed', 'The object changed.');
      if (out.status === 'bad-range') throw new S3Error('InvalidRequest', 'Invalid stored byte range.');
      if (out.status === 'not-modified') {
        res.writeHead(304, { etag: `"${out.version}"`, [META_HEADER]: encodeMetaHeader(out.answer), 'x-amz-request-id': requestId });
        res.end();
        return true;
      }
      const meta = Buffer.from(JSON.stringify(out.answer), 'utf8');
      const headers: Record<string, string | number> = {
        'content-type': 'application/octet-stream',
        'content-length': meta.length + out.bodyLength,
        [META_LENGTH_HEADER]: meta.length,
        [STORED_LENGTH_HEADER]: out.bodyLength,
        'x-amz-request-id': requestId,
      };
      if (out.version) headers.etag = `"${out.version}"`;
      res.writeHead(200, headers);
      if (isHead || !out.body) {
        out.body?.destroy();
        res.end(isHead ? undefined : meta);
        return true;
      }
      res.write(meta);
      try {
        await pipeline(out.body, res);
      } catch {
        // The edge sees a short body and discards its fill.
        res.destroy();
      }
      return true;
    } catch (err) {
      const s3err = isS3Error(err) ? err : new S3Error('InternalError');
      if (!isS3Error(err)) log('accel origin: internal error', err);
      if (!raw.readableEnded) raw.resume();
      sendError(res, s3err, path, requestId, isHead);
      return true;
    }
  }

  return {
    cacheDir,
    stats,
    handle: (raw: IncomingMessage, res: ServerResponse, target: ResolvedRequest, requestId: string) => handleAccelRequest({ services, cache, log }, raw, res, target, requestId),
    handleInternal,
    async close() {
      await cache.close();
      await http.close();
    },
  };
}
