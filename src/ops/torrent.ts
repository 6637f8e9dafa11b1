// GetObjectTorrent / GetObjectVersionTorrent (GET ?torrent, authorized as s3:GetObjectTorrent, or
// s3:GetObjectVersionTorrent with ?versionId=): a BitTorrent metainfo file for the object. Its web
// seed is the object's URL on the host asked, so any client that can read the object anonymously
// downloads it from Strata without a tracker. The piece hashes are computed on the first request,
// by streaming the object once, and kept in its metadata with the ETag they belong to.
import { S3Error } from '../errors.ts';
import type { Operation, RequestContext } from './operation.ts';
import type { ObjectRecord, TorrentPieces } from '../store/types.ts';
import { buildMetainfo, hashPieces, pieceLengthFor } from '../torrent/metainfo.ts';
import { objectUrl } from './common.ts';
import { loadObject } from './object-get.ts';
import { openObjectRange, plainOpener } from './read-object.ts';
import { versioningOf } from './versioning.ts';

/** AWS serves torrents only for objects under 5 GB. */
const maxTorrentObjectBytes = 5 * 1024 ** 3;

function isEncrypted(record: ObjectRecord): boolean {
  return record.sse !== null || (record.manifest ?? []).some((part) => part.sse);
}

/**
 * Hashing reads the whole object, so it is shared and bounded: concurrent first requests for the
 * same bytes wait for one computation, and at most `maxConcurrentHashes` objects are hashed at once
 * in a process (the others queue), so a burst of ?torrent requests cannot take every disk and core.
 */
const inFlight = new Map<string, Promise<TorrentPieces>>();
const maxConcurrentHashes = 2;
let hashing = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= maxConcurrentHashes) await new Promise<void>((resolve) => waiting.push(resolve));
  hashing++;
  try {
    return await work();
  } finally {
    hashing--;
    waiting.shift()?.();
  }
}

async function computePieces(ctx: RequestContext, record: ObjectRecord): Promise<TorrentPieces> {
  const pieceLength = pieceLengthFor(record.size);
  const hashes = await hashPieces(openObjectRange(record, 0, record.size - 1, plainOpener(ctx.store)), pieceLength);
  const torrent: TorrentPieces = { etag: record.etag, pieceLength, pieces: hashes.toString('base64') };
  // Kept for the next request; losing this write (a crash, a concurrent overwrite) only costs a re-hash,
  // and pieces stored onto a newer object are ignored there because its ETag differs.
  const versionId = versioningOf(ctx.bucket) === undefined ? undefined : (record.versionId ?? 'null');
  await ctx.store.updateObjectMeta(ctx.bucketName!, ctx.key!, (meta) => ({ ...meta, torrent }), versionId).catch(() => undefined);
  return torrent;
}

function piecesOf(ctx: RequestContext, record: ObjectRecord): Promise<TorrentPieces> {
  const kept = record.meta.torrent;
  if (kept && kept.etag === record.etag) return Promise.resolve(kept);
  const id = JSON.stringify([ctx.store.name, record.bucket, record.key, record.versionId ?? null, record.etag]);
  let pending = inFlight.get(id);
  if (!pending) {
    pending = withHashSlot(() => computePieces(ctx, record)).finally(() => inFlight.delete(id));
    inFlight.set(id, pending);
  }
  return pending;
}

/** The file name a client saves the bytes under: the key's last segment, never a path or a dot name. */
export function torrentFileName(key: string, bucket: string): string {
  const last = key.split('/').filter((part) => part !== '' && part !== '.' && part !== '..').pop() ?? bucket;
  return last.replace(/[\\\x00-\x1f\x7f]/g, '_');
}

export const GetObjectTorrent: Operation = {
  name: 'GetObjectTorrent',
  action: 's3:GetObjectTorrent',
  versionAction: 's3:GetObjectVersionTorrent',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const record = await loadObject(ctx);
    if (isEncrypted(record)) {
      throw new S3Error('InvalidRequest', 'Torrents are not available for objects encrypted with a customer-provided key (SSE-C).');
    }
    if (record.size >= maxTorrentObjectBytes) throw new S3Error('InvalidRequest', 'Torrents are available only for objects smaller than 5 GB.');
    const { pieceLength, pieces } = await piecesOf(ctx, record);
    const versionId = ctx.query.get('versionId');
    const url = objectUrl(ctx, ctx.bucketName!, ctx.key!) + (versionId !== undefined ? `?versionId=${encodeURIComponent(versionId)}` : '');
    const name = torrentFileName(ctx.key!, ctx.bucketName!);
    const body = buildMetainfo({ name, length: record.size, pieceLength, pieces: Buffer.from(pieces, 'base64'), webSeed: url, createdAt: new Date(record.lastModified) });
    return {
      headers: {
        'Content-Type': 'application/x-bittorrent',
        'Content-Length': body.length,
        'Content-Disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.torrent"`,
      },
      body,
    };
  },
};
