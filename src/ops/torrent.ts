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

async function piecesOf(ctx: RequestContext, record: ObjectRecord): Promise<TorrentPieces> {
  const kept = record.meta.torrent;
  if (kept && kept.etag === record.etag) return kept;
  const pieceLength = pieceLengthFor(record.size);
  const hashes = await hashPieces(openObjectRange(record, 0, record.size - 1, plainOpener(ctx.store)), pieceLength);
  const torrent: TorrentPieces = { etag: record.etag, pieceLength, pieces: hashes.toString('base64') };
  // Kept for the next request; losing this write (a crash, a concurrent overwrite) only costs a re-hash,
  // and pieces stored onto a newer object are ignored there because its ETag differs.
  const versionId = versioningOf(ctx.bucket) === undefined ? undefined : (record.versionId ?? 'null');
  await ctx.store.updateObjectMeta(ctx.bucketName!, ctx.key!, (meta) => ({ ...meta, torrent }), versionId).catch(() => undefined);
  return torrent;
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
    const name = ctx.key!.split('/').filter(Boolean).pop() ?? ctx.bucketName!;
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
