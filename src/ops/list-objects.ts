// ListObjects (v1), ListObjectsV2 (s3:ListBucket) and ListObjectVersions (s3:ListBucketVersions).
// Pages come from the store's index walks (RegionStore.listObjects, RegionStore.listVersions):
// v1/v2 see only current versions; ListObjectVersions every version and delete marker.
import { S3Error } from '../errors.ts';
import { parseVersionId } from '../store/versions.ts';
import type { Operation, RequestContext } from './operation.ts';
import type { ListResult } from '../store/region-store.ts';
import { SEQUENCE, renderXml, type XmlObject, type XmlValue } from '../xml/xml.ts';
import { isoDate, ownerXml, parseIntParam, quoteEtag } from './common.ts';

export interface ListParams {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  encode: (s: string) => string;
  encodingType?: string;
}

/** encoding-type=url: percent-encode as S3 does, keeping '/' readable. */
export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function listParams(ctx: RequestContext): ListParams {
  const encodingType = ctx.query.get('encoding-type');
  if (encodingType !== undefined && encodingType.toLowerCase() !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encodingType });
  }
  const maxKeys = Math.min(parseIntParam(ctx.query.get('max-keys'), 'max-keys', 0, 2 ** 31 - 1, 1000), 1000);
  return {
    prefix: ctx.query.get('prefix') ?? '',
    delimiter: ctx.query.get('delimiter') ?? '',
    maxKeys,
    encode: encodingType ? urlEncodeKey : (s) => s,
    encodingType: encodingType ? 'url' : undefined,
  };
}

function contents(result: ListResult, p: ListParams, withOwner: boolean): XmlObject[] {
  return result.contents.map((c) => ({
    Key: p.encode(c.key),
    LastModified: isoDate(c.lastModified),
    ETag: quoteEtag(c.etag),
    Size: c.size,
    Owner: withOwner ? ownerXml(c.ownerOrg) : undefined,
    StorageClass: c.storageClass ?? 'STANDARD',
  }));
}

function commonPrefixes(result: ListResult, p: ListParams): XmlObject[] {
  return result.commonPrefixes.map((prefix) => ({ Prefix: p.encode(prefix) }));
}

export const ListObjects: Operation = {
  name: 'ListObjects',
  action: 's3:ListBucket',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const p = listParams(ctx);
    const marker = ctx.query.get('marker') ?? '';
    const result = await ctx.store.listObjects(ctx.bucketName!, { prefix: p.prefix, delimiter: p.delimiter, after: marker, maxKeys: p.maxKeys });
    return {
      xml: renderXml('ListBucketResult', {
        Name: ctx.bucketName,
        // v1 echoes the prefix as sent, even with encoding-type=url (clients do not decode it; Ceph).
        Prefix: p.prefix,
        Marker: p.encode(marker),
        // S3 returns NextMarker only when a delimiter was given; clients use the last key otherwise.
        NextMarker: result.isTruncated && p.delimiter && result.nextMarker !== undefined ? p.encode(result.nextMarker) : undefined,
        MaxKeys: p.maxKeys,
        Delimiter: p.delimiter ? p.encode(p.delimiter) : undefined,
        IsTruncated: result.isTruncated,
        EncodingType: p.encodingType,
        Contents: contents(result, p, true),
        CommonPrefixes: commonPrefixes(result, p),
      }),
    };
  },
};

/** Continuation tokens are opaque to clients: the last key returned, base64url-encoded. */
export function encodeContinuationToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  return Buffer.from(token, 'base64url').toString('utf8');
}

export const ListObjectsV2: Operation = {
  name: 'ListObjectsV2',
  action: 's3:ListBucket',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const p = listParams(ctx);
    const token = ctx.query.get('continuation-token');
    const startAfter = ctx.query.get('start-after');
    // With both, the token wins (it already lies after start-after); an empty token is no token.
    const after = token ? decodeContinuationToken(token) : (startAfter ?? '');
    const fetchOwner = ctx.query.get('fetch-owner') === 'true';
    const result = await ctx.store.listObjects(ctx.bucketName!, { prefix: p.prefix, delimiter: p.delimiter, after, maxKeys: p.maxKeys });
    return {
      xml: renderXml('ListBucketResult', {
        Name: ctx.bucketName,
        Prefix: p.encode(p.prefix),
        MaxKeys: p.maxKeys,
        KeyCount: result.contents.length + result.commonPrefixes.length,
        Delimiter: p.delimiter ? p.encode(p.delimiter) : undefined,
        IsTruncated: result.isTruncated,
        EncodingType: p.encodingType,
        ContinuationToken: token,
        NextContinuationToken: result.isTruncated && result.nextMarker !== undefined ? encodeContinuationToken(result.nextMarker) : undefined,
        StartAfter: startAfter !== undefined ? p.encode(startAfter) : undefined,
        Contents: contents(result, p, fetchOwner),
        CommonPrefixes: commonPrefixes(result, p),
      }),
    };
  },
};

export const ListObjectVersions: Operation = {
  name: 'ListObjectVersions',
  action: 's3:ListBucketVersions',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const p = listParams(ctx);
    const keyMarker = ctx.query.get('key-marker') ?? '';
    const versionIdMarker = ctx.query.get('version-id-marker');
    if (versionIdMarker !== undefined && versionIdMarker !== '' && keyMarker === '') {
      throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker });
    }
    // Where within key-marker to start: after the version version-id-marker names. A version id
    // carries its sequence number, so the position holds even when that version has been deleted
    // since (a client deleting what each page lists, as ceph/s3-tests' cleanup does); a deleted
    // null version leaves no position, and the key's remaining versions are listed from its start.
    let afterSeq: number | undefined;
    if (versionIdMarker !== undefined && versionIdMarker !== '') {
      const selector = parseVersionId(versionIdMarker);
      if (selector.kind === 'id') afterSeq = selector.seq;
      else afterSeq = (await ctx.store.getVersion(ctx.bucketName!, keyMarker, 'null'))?.seq ?? Number.MAX_SAFE_INTEGER;
    }
    const result = await ctx.store.listVersions(ctx.bucketName!, { prefix: p.prefix, delimiter: p.delimiter, keyMarker, afterSeq, maxKeys: p.maxKeys });
    const entries: [string, XmlValue][] = result.entries.map((e) => {
      const common = { Key: p.encode(e.record.key), VersionId: e.record.versionId ?? 'null', IsLatest: e.isLatest, LastModified: isoDate(e.record.lastModified) };
      if (e.isDeleteMarker) return ['DeleteMarker', { ...common, Owner: ownerXml(e.record.ownerOrg) }];
      return ['Version', { ...common, ETag: quoteEtag(e.record.etag), Size: e.record.size, Owner: ownerXml(e.record.ownerOrg), StorageClass: e.record.meta.storageClass ?? 'STANDARD' }];
    });
    return {
      xml: renderXml('ListVersionsResult', {
        Name: ctx.bucketName,
        Prefix: p.encode(p.prefix),
        KeyMarker: p.encode(keyMarker),
        VersionIdMarker: versionIdMarker ?? '',
        NextKeyMarker: result.isTruncated && result.nextKeyMarker !== undefined ? p.encode(result.nextKeyMarker) : undefined,
        NextVersionIdMarker: result.isTruncated && result.nextVersionId !== undefined ? result.nextVersionId : undefined,
        MaxKeys: p.maxKeys,
        Delimiter: p.delimiter ? p.encode(p.delimiter) : undefined,
        IsTruncated: result.isTruncated,
        EncodingType: p.encodingType,
        [SEQUENCE]: entries,
        CommonPrefixes: result.commonPrefixes.map((cp) => ({ Prefix: p.encode(cp) })),
      }),
    };
  },
};
