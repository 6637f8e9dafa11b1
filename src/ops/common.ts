// Small helpers shared by the operation modules: header access, dates, object metadata in and
// out, tags, Content-MD5.
import { S3Error } from '../errors.ts';
import type { RequestContext } from './operation.ts';
import type { ObjectMeta, ObjectRecord } from '../store/types.ts';
import type { XmlObject } from '../xml/xml.ts';
import { websiteRedirectLocation } from '../website/object-redirect.ts';

export const maxUserMetadataBytes = 2048;
export const maxSinglePutBytes = 5 * 1024 ** 3;
export const maxPartBytes = 5 * 1024 ** 3;
export const minPartBytes = 5 * 1024 ** 2;
export const maxPartNumber = 10_000;

export function header(ctx: Pick<RequestContext, 'headers'>, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

export function ownerXml(org: string): XmlObject {
  return { ID: org, DisplayName: org };
}

export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

const systemHeaders: [keyof ObjectMeta, string][] = [
  ['contentType', 'content-type'],
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['contentLanguage', 'content-language'],
  ['cacheControl', 'cache-control'],
  ['expires', 'expires'],
];

/** Object metadata from request headers (PutObject, CreateMultipartUpload, CopyObject REPLACE). */
export function metaFromHeaders(ctx: Pick<RequestContext, 'headers'>): ObjectMeta {
  const meta: ObjectMeta = { user: {} };
  for (const [field, name] of systemHeaders) {
    let value = header(ctx, name);
    if (value === undefined) continue;
    if (field === 'contentEncoding') {
      // aws-chunked is transfer framing, not part of the object's encoding.
      value = value.split(',').map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== 'aws-chunked').join(', ');
      if (!value) continue;
    }
    (meta as unknown as Record<string, string>)[field] = value;
  }
  let userBytes = 0;
  for (const [name, raw] of Object.entries(ctx.headers)) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
    const shortName = name.slice('x-amz-meta-'.length);
    meta.user[shortName] = value;
    userBytes += Buffer.byteLength(shortName) + Buffer.byteLength(value);
  }
  if (userBytes > maxUserMetadataBytes) throw new S3Error('MetadataTooLarge', undefined, { Size: String(userBytes), MaxSizeAllowed: String(maxUserMetadataBytes) });
  const storageClass = header(ctx, 'x-amz-storage-class');
  if (storageClass !== undefined) {
    if (!['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE'].includes(storageClass)) {
      throw new S3Error('InvalidStorageClass');
    }
    meta.storageClass = storageClass;
  }
  const redirect = websiteRedirectLocation(ctx.headers);
  if (redirect !== undefined) meta.websiteRedirectLocation = redirect;
  return meta;
}

/** Response headers describing a stored object (GET, HEAD). */
export function objectHeaders(record: ObjectRecord): Record<string, string | number | undefined> {
  const m = record.meta;
  const headers: Record<string, string | number | undefined> = {
    ETag: quoteEtag(record.etag),
    'Last-Modified': httpDate(record.lastModified),
    'Content-Type': m.contentType ?? 'binary/octet-stream',
    'Content-Encoding': m.contentEncoding,
    'Content-Disposition': m.contentDisposition,
    'Content-Language': m.contentLanguage,
    'Cache-Control': m.cacheControl,
    Expires: m.expires,
    'Accept-Ranges': 'bytes',
    'x-amz-storage-class': m.storageClass && m.storageClass !== 'STANDARD' ? m.storageClass : undefined,
    'x-amz-tagging-count': m.tags && m.tags.length > 0 ? m.tags.length : undefined,
    'x-amz-mp-parts-count': record.manifest ? record.manifest.length : undefined,
    'x-amz-replication-status': m.replicationStatus,
    'x-amz-website-redirect-location': m.websiteRedirectLocation,
  };
  for (const [name, value] of Object.entries(m.user)) headers[`x-amz-meta-${name}`] = encodeHeaderValue(value);
  return headers;
}

/** Header values must be Latin-1 on the wire; other text is sent RFC 2047-encoded, as AWS does. */
function encodeHeaderValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0020-\u007e\t]*$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** Parse the x-amz-tagging header (URL-encoded query form). */
export function parseTaggingHeader(value: string): [string, string][] {
  const tags: [string, string][] = [];
  if (value === '') return tags;
  const params = new URLSearchParams(value);
  for (const [k, v] of params) tags.push([k, v]);
  validateTags(tags);
  return tags;
}

export function validateTags(tags: [string, string][], maxTags = 10): void {
  if (tags.length > maxTags) throw new S3Error('InvalidTag', `Object tags cannot be greater than ${maxTags}`);
  const seen = new Set<string>();
  for (const [k, v] of tags) {
    if (k.length === 0 || [...k].length > 128) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if ([...v].length > 256) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    if (seen.has(k)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    if (k.toLowerCase().startsWith('aws:')) throw new S3Error('InvalidTag', 'Your TagKey cannot be prefixed with aws:');
    seen.add(k);
  }
}

export function parseIntParam(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^-?\d+$/.test(value)) throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: value });
  const n = Number(value);
  if (n < min || n > max) throw new S3Error('InvalidArgument', `Argument ${name} must be an integer between ${min} and ${max}`, { ArgumentName: name, ArgumentValue: value });
  return n;
}

/** The object's URL on the host the request came to, as S3 gives it in Location (the key encoded whole, '/' as %2F). */
export function objectUrl(ctx: RequestContext, bucket: string, key: string): string {
  const scheme = ctx.secureTransport ? 'https' : 'http';
  const host = header(ctx, 'host') ?? '';
  const path = ctx.target.style === 'virtual' ? `/${encodeURIComponent(key)}` : `/${bucket}/${encodeURIComponent(key)}`;
  return `${scheme}://${host}${path}`;
}
