// POST Object (s3:PutObject): browser-based uploads with an HTML form (multipart/form-data).
// The fields before `file` say what to store and who asks (a policy document signed with SigV4
// or SigV2, or nothing for an anonymous upload to a bucket that lets anyone write); the `file`
// field is streamed straight into a blob, never held in memory. Fields: key (with ${filename}),
// policy, x-amz-algorithm / x-amz-credential / x-amz-date / x-amz-signature, AWSAccessKeyId /
// signature, acl, Content-Type, Cache-Control, Content-Disposition, Content-Encoding, Expires,
// Content-MD5, x-amz-meta-*, x-amz-storage-class, tagging (XML), x-amz-checksum-*, the SSE-C
// fields, success_action_status, success_action_redirect (and the older `redirect`).
// Fields after `file` are ignored, as S3 ignores them. The file part's own Content-Type header is
// ignored too (S3 stores binary/octet-stream unless the form has a Content-Type field): only the
// field is subject to the policy, so the part header must not be able to set what the policy
// would refuse.
import { Transform, type TransformCallback } from 'node:stream';
import { authorizeRequest } from '../access/check.ts';
import { checksumHeaderName, decodeChecksumValue, parseChecksumAlgorithm, type ChecksumAlgorithm } from '../checksum/algorithms.ts';
import { regionEndpointMap } from '../config.ts';
import { S3Error } from '../errors.ts';
import type { Operation, OperationResult, RequestContext } from './operation.ts';
import { quotaGuard } from '../quota/quota.ts';
import type { ObjectRecord } from '../store/types.ts';
import { renderXml } from '../xml/xml.ts';
import { newObjectAcl } from './acl-util.ts';
import { contentMd5 } from '../checksum/declared.ts';
import { bytesReplaced, writtenVersionHeader } from './versioning.ts';
import { header, maxSinglePutBytes, metaFromHeaders, objectUrl, quoteEtag } from './common.ts';
import { authenticateForm, formAccessKey, signatureFields, type FieldMap } from './post-object/form-auth.ts';
import { formHeaderValue } from './post-object/form-headers.ts';
import { defaultFormLimits, FormReader, formBoundary, PullReader, type FormField } from './post-object/form-data.ts';
import { checkPostPolicy, parsePostPolicy, type PostPolicy } from './post-object/policy.ts';
import { storeBytes } from './receive-body.ts';
import { requestKey, writeEncryption } from './sse.ts';
import { parseTaggingDocument } from './tagging.ts';
import { changeOrigin } from './change-origin.ts';

/** Form fields that become the request "headers" the shared PutObject helpers read. */
const headerFields = new Set([
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'content-md5',
  'x-amz-storage-class',
  'x-amz-website-redirect-location',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-server-side-encryption-customer-key-md5',
]);

/** Real request headers that still describe a form upload (policy conditions aws:Referer, aws:UserAgent). */
const keptRequestHeaders = ['host', 'user-agent', 'referer'];

const checksumValueField = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

/** Fields whose values need no policy condition (besides x-ignore-*). */
function exemptFrom(version: 2 | 4): (field: string) => boolean {
  const exempt = new Set(['policy', 'file', ...signatureFields(version)]);
  // Ceph's s3-tests (test_post_object_upload_checksum) upload with an x-amz-checksum-* field the
  // policy does not name and expect success: a checksum can only cause a rejection, never widen
  // what is stored, so it needs no permission.
  return (field) => exempt.has(field) || checksumValueField.test(field);
}

function fieldMap(fields: FormField[]): FieldMap {
  const map: FieldMap = new Map();
  for (const { name, value } of fields) {
    const lower = name.toLowerCase();
    // One value per name: a repeated field would let the policy check and the upload see different values.
    if (map.has(lower)) throw new S3Error('InvalidArgument', `The form field ${name} is specified more than once.`, { ArgumentName: name, ArgumentValue: value });
    map.set(lower, value);
  }
  return map;
}

function acceptedRegions(ctx: RequestContext): string[] {
  const { config } = ctx.services;
  return [...new Set([...config.signingRegions, ...config.regions, ...regionEndpointMap(config).keys()])];
}

function parseTaggingField(xml: string): [string, string][] {
  return parseTaggingDocument(xml, 10);
}

/** The flexible checksum the form declares (x-amz-checksum-<alg>, optionally x-amz-checksum-algorithm). */
function declaredChecksum(fields: FieldMap): { algorithm: ChecksumAlgorithm; expected?: Buffer } | undefined {
  const values: [ChecksumAlgorithm, string, string][] = [];
  for (const [name, value] of fields) {
    const m = checksumValueField.exec(name);
    if (m) values.push([parseChecksumAlgorithm(m[1])!, name, value]);
  }
  if (values.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const named = fields.get('x-amz-checksum-algorithm');
  const namedAlgorithm = named !== undefined ? parseChecksumAlgorithm(named) : undefined;
  if (named !== undefined && !namedAlgorithm) throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-algorithm header is invalid.');
  if (values.length === 1) {
    const [algorithm, name, value] = values[0];
    if (namedAlgorithm && namedAlgorithm !== algorithm) throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-algorithm header is invalid.');
    const expected = decodeChecksumValue(algorithm, value);
    if (!expected) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
    return { algorithm, expected };
  }
  return namedAlgorithm ? { algorithm: namedAlgorithm } : undefined;
}

/** Counts the file's bytes and stops the upload as soon as it is larger than allowed. */
class SizeLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly max: number,
    private readonly onProgress: (n: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      return done(new S3Error('EntityTooLarge', undefined, { ProposedSize: String(this.bytes), MaxSizeAllowed: String(this.max) }));
    }
    try {
      this.onProgress(this.bytes);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }
}

/** success_action_redirect: a usable http(s) URL, else undefined (S3 then ignores the field). */
function redirectTarget(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // As sent when it is plain ASCII; otherwise in its encoded form, which a header can carry.
    return /^[\x21-\x7e]+$/.test(value) ? value : url.href;
  } catch {
    return undefined;
  }
}

export const PostObject: Operation = {
  name: 'PostObject',
  action: 's3:PutObject',
  level: 'write',
  needsBucket: true,
  streamsBody: true,
  // Who is asking, and for which key, is only known once the form has been read.
  authorizesItself: true,
  async handle(ctx) {
    const boundary = formBoundary(header(ctx, 'content-type'));
    const reader = new PullReader(ctx.raw);
    let completed = false;
    try {
      const result = await receiveForm(ctx, new FormReader(reader, boundary, defaultFormLimits));
      completed = true;
      return result;
    } finally {
      reader.release();
      // What follows the file (closing boundary, ignored fields) is drained, not parsed. On
      // failure the pipeline drains the body itself.
      if (completed && !ctx.raw.readableEnded) ctx.raw.resume();
    }
  },
};

async function receiveForm(ctx: RequestContext, form: FormReader): Promise<OperationResult> {
  const bucket = ctx.bucket!;
  const { fields: fieldList, file } = await form.readUntilFile();
  const fields = fieldMap(fieldList);

  // Who: the signature over the policy document, if any.
  const signer = formAccessKey(fields);
  const credentials = signer === undefined ? undefined : await ctx.services.identity.credentialsFor(signer);
  const auth = authenticateForm(fields, { credentialsFor: (accessKey) => (accessKey === signer ? credentials : undefined), acceptedRegions: acceptedRegions(ctx) });
  const policy: PostPolicy | undefined = auth.kind === 'signed' ? parsePostPolicy(auth.policy) : undefined;

  // What: the key, with ${filename} taken from the file part.
  const keyTemplate = fields.get('key');
  if (keyTemplate === undefined) {
    throw new S3Error('InvalidArgument', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", {
      ArgumentName: 'key',
      ArgumentValue: '',
    });
  }
  if (!file) throw new S3Error('IncorrectNumberOfFilesInPostRequest', undefined, { ArgumentName: 'file', ArgumentValue: '0' });
  const key = keyTemplate.split('${filename}').join(file.filename ?? '');
  if (key === '') throw new S3Error('InvalidArgument', 'User key must have a length greater than 0.', { ArgumentName: 'key', ArgumentValue: keyTemplate });
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError');

  if (policy) {
    const values = new Map(fields);
    // The bucket is always part of the request, and is the one in the URL, whatever a form field says.
    values.set('bucket', bucket.name);
    values.set('key', key);
    checkPostPolicy(policy, { values, exempt: exemptFrom(auth.kind === 'signed' ? auth.version : 4), now: new Date() });
  }

  // The request as the PutObject helpers and the bucket policy see it: the form's fields as headers.
  const headers: RequestContext['headers'] = {};
  for (const name of keptRequestHeaders) if (ctx.headers[name] !== undefined) headers[name] = ctx.headers[name];
  for (const [name, value] of fields) {
    if (headerFields.has(name) || name.startsWith('x-amz-meta-')) headers[name] = formHeaderValue(name, value);
  }
  const acl = fields.get('acl');
  if (acl !== undefined) headers['x-amz-acl'] = acl;
  const formCtx: RequestContext = { ...ctx, headers, key, principal: auth.kind === 'signed' ? auth.principal : undefined };

  const tagging = fields.get('tagging');
  const tags = tagging !== undefined && tagging !== '' ? parseTaggingField(tagging) : undefined;
  await authorizeRequest(formCtx, 's3:PutObject', 'write', bucket, key, tags ? { requestTags: tags } : {});

  const meta = metaFromHeaders(formCtx);
  if (tags) meta.tags = tags;
  const objectAcl = await newObjectAcl(formCtx);
  if (objectAcl) meta.acl = objectAcl;
  const sseKey = requestKey(formCtx, 'write');
  if (headers['x-amz-server-side-encryption'] !== undefined) {
    throw new S3Error('NotImplemented', 'Server-side encryption with service-managed keys is not implemented; use SSE-C.');
  }
  const expectedMd5 = contentMd5(formCtx.headers);
  const checksum = declaredChecksum(fields);

  // The bytes: limited by the policy's content-length-range and S3's single-upload maximum.
  const range = policy?.contentLength;
  const maxBytes = Math.min(range?.max ?? maxSinglePutBytes, maxSinglePutBytes);
  const current = await ctx.store.getObject(bucket.name, key);
  const quota = await quotaGuard(ctx.store, bucket.ownerOrg, ctx.services.config.defaultQuotaBytes, bytesReplaced(bucket, current));
  quota.beforeRead(undefined);
  const encryption = sseKey ? writeEncryption(sseKey) : undefined;
  const limit = new SizeLimit(maxBytes, quota.onProgress);
  const written = await storeBytes(ctx, file.stream, { algorithm: checksum?.algorithm, encryption, before: [limit] });

  let record: ObjectRecord;
  let checksumValue: string | undefined;
  try {
    if (range && limit.bytes < range.min) {
      throw new S3Error('EntityTooSmall', undefined, { ProposedSize: String(limit.bytes), MinSizeAllowed: String(range.min) });
    }
    const md5 = written.md5!;
    if (expectedMd5 && !md5.equals(expectedMd5)) throw new S3Error('BadDigest');
    if (checksum) {
      const computed = written.checksum!;
      if (checksum.expected && !checksum.expected.equals(computed)) {
        throw new S3Error('BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      checksumValue = computed.toString('base64');
      meta.checksum = { algorithm: checksum.algorithm, value: checksumValue, type: 'FULL_OBJECT' };
    }
    record = {
      bucket: bucket.name,
      key,
      size: limit.bytes,
      etag: encryption ? encryption.etag(md5) : md5.toString('hex'),
      lastModified: Date.now(),
      ownerOrg: bucket.ownerOrg,
      meta,
      blob: written.id,
      manifest: null,
      sse: encryption?.sse ?? null,
    };
    await ctx.store.commitObject(record, {}, (_previous, freed, usage) => quota.atCommit(freed, record.size, usage), changeOrigin(ctx, 'PostObject'));
  } catch (err) {
    await ctx.store.blobs.remove(written.id);
    throw err;
  }
  await ctx.store.durable();

  const location = objectUrl(ctx, bucket.name, key);
  const responseHeaders: Record<string, string> = { ETag: quoteEtag(record.etag), Location: location, ...writtenVersionHeader(bucket, record.versionId), ...encryption?.headers };
  if (checksum && checksumValue) responseHeaders[checksumHeaderName(checksum.algorithm)] = checksumValue;

  const redirect = redirectTarget(fields.get('success_action_redirect') ?? fields.get('redirect'));
  if (redirect) {
    const query = `bucket=${encodeURIComponent(bucket.name)}&key=${encodeURIComponent(key)}&etag=${encodeURIComponent(quoteEtag(record.etag))}`;
    return { status: 303, headers: { ...responseHeaders, Location: `${redirect}${redirect.includes('?') ? '&' : '?'}${query}` } };
  }
  switch (fields.get('success_action_status')) {
    case '200':
      return { status: 200, headers: responseHeaders };
    case '201':
      return {
        status: 201,
        headers: responseHeaders,
        xml: renderXml('PostResponse', { Location: location, Bucket: bucket.name, Key: key, ETag: quoteEtag(record.etag) }, {}),
      };
    default:
      // 204 is the default, and the answer to any value other than 200 and 201.
      return { status: 204, headers: responseHeaders };
  }
}
