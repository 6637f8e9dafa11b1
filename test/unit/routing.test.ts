// Host and path resolution, and the route table, against the request shapes of the AWS docs.
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { parseQuery, resolveHost, resolveRequest } from '../../src/addressing.ts';
import { routeRequest } from '../../src/ops/routes.ts';

const regions = ['lga1', 'ord1', 'las1'];
const host = (h: string) => resolveHost(h, regions, 'lga1', 'example.test');

describe('resolveHost', () => {
  it('names regions, endpoints and virtual-hosted buckets', () => {
    expect(host('object.ord1.example.test')).toEqual({ region: 'ord1', endpoint: 'api' });
    expect(host('object.ord1.example.test:9000')).toEqual({ region: 'ord1', endpoint: 'api' });
    expect(host('happybucket.object.las1.example.test')).toEqual({ region: 'las1', endpoint: 'api', virtualBucket: 'happybucket' });
    expect(host('my.dotted.bucket.object.las1.example.test:443')).toEqual({ region: 'las1', endpoint: 'api', virtualBucket: 'my.dotted.bucket' });
    expect(host('accel-object.ord1.example.test')).toEqual({ region: 'ord1', endpoint: 'accel' });
    expect(host('b.accel-object.lga1.example.test')).toEqual({ region: 'lga1', endpoint: 'accel', virtualBucket: 'b' });
    expect(host('bucket.example.test')).toEqual({ region: 'lga1', endpoint: 'api', virtualBucket: 'bucket' });
    expect(host('OBJECT.ORD1.EXAMPLE.TEST')).toEqual({ region: 'ord1', endpoint: 'api' });
  });

  it('sends anything else to the default region, path-style', () => {
    for (const h of ['127.0.0.1:9000', 'localhost', '[::1]:9000', 'example.test', 'other.domain:80', undefined]) {
      expect(host(h as string)).toEqual({ region: 'lga1', endpoint: 'api' });
    }
  });

  it('refuses a host that names a region this node does not know', () => {
    for (const h of ['object.xyz9.example.test', 'b.object.xyz9.example.test', 'accel-object.xyz9.example.test:9000']) {
      expect(() => host(h), h).toThrow(/not served here/);
    }
  });
});

describe('resolveRequest', () => {
  const api = { region: 'lga1', endpoint: 'api' as const };
  it('splits path-style bucket and key, decoding once and keeping + literal', () => {
    const r = resolveRequest('/bucket/dir/a%20b+c%2Bd/%F0%9F%99%82?list-type=2&prefix=a+b%2Bc', api);
    expect(r.bucket).toBe('bucket');
    expect(r.key).toBe('dir/a b+c+d/🙂');
    expect(r.query.get('list-type')).toBe('2');
    expect(r.query.get('prefix')).toBe('a b+c');
  });

  it('keeps empty segments and trailing slashes in keys', () => {
    expect(resolveRequest('/b/a//b/', api).key).toBe('a//b/');
    expect(resolveRequest('/b/', api).key).toBeUndefined();
    expect(resolveRequest('/b', api).bucket).toBe('b');
    expect(resolveRequest('/', api).bucket).toBeUndefined();
  });

  it('takes the bucket from the host in virtual-hosted style', () => {
    const r = resolveRequest('/my-new-file.txt', { ...api, virtualBucket: 'happybucket' });
    expect([r.style, r.bucket, r.key]).toEqual(['virtual', 'happybucket', 'my-new-file.txt']);
    expect(resolveRequest('/?policy', { ...api, virtualBucket: 'happybucket' }).key).toBeUndefined();
  });

  it('refuses malformed percent-escapes instead of guessing', () => {
    expect(() => resolveRequest('/b/%E0%A4%A', api)).toThrow(S3Error);
    expect(() => parseQuery('prefix=%zz')).toThrow(S3Error);
  });

  it('parses value-less sub-resources', () => {
    expect([...parseQuery('uploads&x-id=CreateMultipartUpload').entries()]).toEqual([['uploads', ''], ['x-id', 'CreateMultipartUpload']]);
  });
});

describe('route table', () => {
  const route = (method: string, url: string, headers: Record<string, string> = {}) =>
    routeRequest(method, resolveRequest(url, { region: 'lga1', endpoint: 'api' }), headers).name;

  it('maps every implemented request shape to its operation', () => {
    const cases: [string, string, Record<string, string>, string][] = [
      ['GET', '/', {}, 'ListBuckets'],
      ['PUT', '/b', {}, 'CreateBucket'],
      ['HEAD', '/b', {}, 'HeadBucket'],
      ['DELETE', '/b', {}, 'DeleteBucket'],
      ['GET', '/b', {}, 'ListObjects'],
      ['GET', '/b?list-type=2&prefix=x', {}, 'ListObjectsV2'],
      ['GET', '/b?versions', {}, 'ListObjectVersions'],
      ['GET', '/b?uploads', {}, 'ListMultipartUploads'],
      ['GET', '/b?location', {}, 'GetBucketLocation'],
      ['GET', '/b?versioning', {}, 'GetBucketVersioning'],
      ['PUT', '/b?versioning', {}, 'PutBucketVersioning'],
      ['GET', '/b?policy', {}, 'GetBucketPolicy'],
      ['PUT', '/b?policy', {}, 'PutBucketPolicy'],
      ['DELETE', '/b?policy', {}, 'DeleteBucketPolicy'],
      ['GET', '/b?acl', {}, 'GetBucketAcl'],
      ['PUT', '/b?acl', {}, 'PutBucketAcl'],
      ['GET', '/b?tagging', {}, 'GetBucketTagging'],
      ['POST', '/b?delete', {}, 'DeleteObjects'],
      ['PUT', '/b/k', {}, 'PutObject'],
      ['PUT', '/b/k?x-id=PutObject', {}, 'PutObject'],
      ['PUT', '/b/k', { 'x-amz-copy-source': '/s/k' }, 'CopyObject'],
      ['GET', '/b/k', {}, 'GetObject'],
      ['GET', '/b/k?partNumber=2&response-content-type=x', {}, 'GetObject'],
      ['HEAD', '/b/k', {}, 'HeadObject'],
      ['DELETE', '/b/k', {}, 'DeleteObject'],
      ['GET', '/b/k?tagging', {}, 'GetObjectTagging'],
      ['PUT', '/b/k?tagging', {}, 'PutObjectTagging'],
      ['DELETE', '/b/k?tagging', {}, 'DeleteObjectTagging'],
      ['GET', '/b/k?acl', {}, 'GetObjectAcl'],
      ['PUT', '/b/k?acl', {}, 'PutObjectAcl'],
      ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
      ['PUT', '/b/k?partNumber=1&uploadId=u', {}, 'UploadPart'],
      ['PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 's/k' }, 'UploadPartCopy'],
      ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
      ['DELETE', '/b/k?uploadId=u', {}, 'AbortMultipartUpload'],
      ['GET', '/b/k?uploadId=u', {}, 'ListParts'],
      ['GET', '/b/k?attributes', {}, 'GetObjectAttributes'],
      ['POST', '/b', {}, 'PostObject'],
      ['PUT', '/b?publicAccessBlock', {}, 'PutPublicAccessBlock'],
      ['GET', '/b?policyStatus', {}, 'GetBucketPolicyStatus'],
      ['POST', '/b/k?restore', {}, 'RestoreObject'],
      ['PUT', '/b?website', {}, 'PutBucketWebsite'],
      ['GET', '/b?website', {}, 'GetBucketWebsite'],
      ['DELETE', '/b?website', {}, 'DeleteBucketWebsite'],
      ['GET', '/b/k?torrent', {}, 'GetObjectTorrent'],
      ['GET', '/b?cors', {}, 'GetBucketCors'],
      ['PUT', '/b?cors', {}, 'PutBucketCors'],
      ['DELETE', '/b?cors', {}, 'DeleteBucketCors'],
      ['PUT', '/b?lifecycle', {}, 'PutBucketLifecycleConfiguration'],
      ['GET', '/b?lifecycle', {}, 'GetBucketLifecycleConfiguration'],
      ['DELETE', '/b?lifecycle', {}, 'DeleteBucketLifecycle'],
    ];
    for (const [method, url, headers, name] of cases) expect(route(method, url, headers), `${method} ${url}`).toBe(name);
  });

  it('answers NotImplemented for S3 sub-resources it does not implement, never a wrong operation', () => {
    for (const [method, url] of [['POST', '/b?cors'], ['POST', '/b?lifecycle'], ['GET', '/b?inventory'], ['PUT', '/b/k?retention'], ['GET', '/b/k?legal-hold'], ['POST', '/b/k?select&select-type=2'], ['PUT', '/b/k?torrent'], ['PUT', '/b?object-lock']]) {
      try {
        route(method, url);
        throw new Error(`${method} ${url} was routed`);
      } catch (err) {
        expect((err as S3Error).code, `${method} ${url}`).toBe('NotImplemented');
        expect((err as S3Error).status).toBe(501);
      }
    }
  });

  it('refuses methods S3 does not define', () => {
    expect(() => route('PATCH', '/b/k')).toThrow(/not allowed/);
  });
});
