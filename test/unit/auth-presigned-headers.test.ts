// A presigned URL authorises exactly what its signer signed: x-amz-* headers it does not list in
// X-Amz-SignedHeaders are refused (403 AccessDenied, HeadersNotSigned), as with header
// authentication, except x-amz-content-sha256, whose value the signature covers anyway. URLs
// from the AWS SDK v3 presigner (x-amz-* values hoisted into the signed query, or kept as signed
// headers with unhoistableHeaders) keep verifying.
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { authenticate, type AuthInput } from '../../src/auth/sigv4.ts';
import { capturingClient, presign } from './auth-helpers.ts';

const now = new Date('2025-03-01T12:00:00Z');
const lookup = (id: string) => (id === 'AKID' ? { secretKey: 'secret' } : undefined);
const run = (input: AuthInput) => authenticate(input, lookup, { now, acceptedRegions: ['default', 'us-east-1'], serviceRegion: 'default' });

function refusal(input: AuthInput): S3Error {
  try {
    run(input);
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    return err as S3Error;
  }
  throw new Error('expected the request to be refused');
}

/** A presigned PUT URL for one key, signed over host only (what boto3 and the SDK give for a bare PutObject). */
const putUrl = () => presign({ method: 'PUT', path: '/uploads/slot.bin', date: now, expires: 3600, secretKey: 'secret' });
const withHeaders = (input: AuthInput, extra: Record<string, string>): AuthInput => ({ ...input, headers: { ...input.headers, ...extra } });

describe('presigned URLs and x-amz-* headers', () => {
  it('refuses unsigned x-amz-copy-source and x-amz-acl: the holder of a PUT URL cannot copy another object in and publish it', () => {
    expect(run(putUrl()).kind).toBe('signed');
    const e = refusal(withHeaders(putUrl(), { 'x-amz-copy-source': 'private/payroll.csv', 'x-amz-acl': 'public-read' }));
    expect([e.code, e.status, e.message]).toEqual(['AccessDenied', 403, 'There were headers present in the request which were not signed']);
    expect(e.details).toEqual({ HeadersNotSigned: 'x-amz-acl, x-amz-copy-source' });
  });

  it('refuses every other unsigned x-amz-* header, the checksum headers included (as AWS does)', () => {
    for (const [name, value] of [
      ['x-amz-grant-read', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
      ['x-amz-grant-full-control', 'id="someone"'],
      ['x-amz-metadata-directive', 'REPLACE'],
      ['x-amz-tagging', 'a=b'],
      ['x-amz-meta-note', 'x'],
      ['x-amz-storage-class', 'GLACIER'],
      ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
      ['x-amz-checksum-crc32', 'AAAAAA=='],
      ['x-amz-sdk-checksum-algorithm', 'CRC32'],
      ['x-amz-checksum-algorithm', 'SHA256'],
      ['x-amz-trailer', 'x-amz-checksum-crc32'],
      ['x-amz-decoded-content-length', '5'],
      ['x-amz-date', '20250301T120000Z'],
    ]) {
      const e = refusal(withHeaders(putUrl(), { [name]: value }));
      expect([e.code, e.details.HeadersNotSigned], name).toEqual(['AccessDenied', name]);
    }
  });

  it('lets x-amz-content-sha256 through unsigned: the signature covers its value as the payload hash', () => {
    expect(run(withHeaders(putUrl(), { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }))).toMatchObject({ kind: 'signed', payload: { kind: 'unsigned' } });
    // A value the signer did not sign with does not verify.
    const other = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(refusal(withHeaders(putUrl(), { 'x-amz-content-sha256': other })).code).toBe('SignatureDoesNotMatch');
  });

  it('accepts x-amz-* headers the URL signs (unhoistableHeaders), and only with the signed values', async () => {
    const { client } = capturingClient();
    const url = new URL(await getSignedUrl(client, new PutObjectCommand({ Bucket: 'uploads', Key: 'slot.bin', ACL: 'public-read' }), {
      expiresIn: 300,
      signingDate: now,
      unhoistableHeaders: new Set(['x-amz-acl']),
    }));
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-amz-acl');
    const input: AuthInput = { method: 'PUT', rawUrl: url.pathname + url.search, headers: { host: url.host, 'x-amz-acl': 'public-read' } };
    expect(run(input)).toMatchObject({ kind: 'signed', presigned: true });
    expect(refusal(withHeaders(input, { 'x-amz-acl': 'public-read-write' })).code).toBe('SignatureDoesNotMatch');
    expect(refusal(withHeaders(input, { 'x-amz-grant-read': 'id="x"' })).details.HeadersNotSigned).toBe('x-amz-grant-read');
  });

  it('still verifies SDK presigned URLs whose x-amz-* values are hoisted into the query (ACL, tagging, metadata, checksum, copy source)', async () => {
    const { client } = capturingClient();
    const commands = [
      ['PUT', new PutObjectCommand({ Bucket: 'b', Key: 'k', ACL: 'public-read', Tagging: 'a=b', Metadata: { note: 'x' }, ChecksumAlgorithm: 'CRC32' })],
      ['PUT', new CopyObjectCommand({ Bucket: 'b', Key: 'k', CopySource: 'b/src' })],
      ['GET', new GetObjectCommand({ Bucket: 'b', Key: 'k', ChecksumMode: 'ENABLED' })],
    ] as const;
    for (const [method, command] of commands) {
      // getSignedUrl's type ties the command to one client input; any S3 command presigns the same way.
      const url = new URL(await getSignedUrl(client, command as PutObjectCommand, { expiresIn: 300, signingDate: now }));
      expect([...url.searchParams.keys()].some((k) => k.toLowerCase().startsWith('x-amz-') && !k.startsWith('X-Amz-'))).toBe(true);
      expect(run({ method, rawUrl: url.pathname + url.search, headers: { host: url.host } })).toMatchObject({ kind: 'signed', presigned: true });
    }
  });
});
