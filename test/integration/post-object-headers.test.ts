// Form fields of a POST Object upload that become stored response headers: a control character
// (CR/LF) or a field name no header could have is refused with InvalidArgument and nothing is
// stored (before the fix, the upload succeeded and every later GET of the object failed with 500);
// UTF-8 metadata still round-trips. The
// website redirect location gets one validation on every way in (PUT, copy, multipart, POST).
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAs } from '../helpers/principals.ts';
import { errorCode } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const bucket = `post-hdr-${randomBytes(4).toString('hex')}`;
const boundary = '----StrataHeaderFormBoundary';

/** An anonymous form upload (the bucket is public-read-write) of `fields` and a small file. */
async function post(fields: [string, string][]): Promise<{ status: number; text: string }> {
  const parts = fields.map(([n, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`);
  const body = parts.join('') + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nbody\r\n--${boundary}--\r\n`;
  const res = await request(`http://127.0.0.1:${server.port}/${bucket}`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.from(body, 'utf8') });
  return { status: res.statusCode, text: await res.body.text() };
}

const headStatus = async (key: string) => (await sendAs(server, 'admin', 'HEAD', `/${bucket}/${key}`)).status;

beforeAll(async () => {
  server = await startTestServer();
  await server.client().send(new CreateBucketCommand({ Bucket: bucket, ACL: 'public-read-write' }));
});
afterAll(async () => server?.stop());

describe('POST Object fields that become headers', () => {
  it('refuses a CR/LF or another control character with InvalidArgument, and stores nothing', async () => {
    const fields = ['x-amz-website-redirect-location', 'Content-Type', 'Content-Disposition', 'Cache-Control', 'Content-Language', 'Expires', 'x-amz-meta-note'];
    for (const [i, field] of fields.entries()) {
      for (const value of ['/x\r\nSet-Cookie: pwn=1', 'a\x00b', 'a\x7fb']) {
        const res = await post([['key', `evil-${i}.html`], [field, value]]);
        expect(res.status, `${field} ${JSON.stringify(value)} ${res.text}`).toBe(400);
        expect(errorCode(res.text)).toBe('InvalidArgument');
        expect(res.text).toContain(`<ArgumentName>${field.toLowerCase()}</ArgumentName>`);
      }
      expect(await headStatus(`evil-${i}.html`)).toBe(404);
    }
  });

  it('refuses an x-amz-meta-* field whose name cannot be a header name', async () => {
    const res = await post([['key', 'badname.html'], ['x-amz-meta-a b', 'v']]);
    expect(res.status, res.text).toBe(400);
    expect(errorCode(res.text)).toBe('InvalidArgument');
    expect(await headStatus('badname.html')).toBe(404);
  });

  it('still stores UTF-8 metadata, which GET answers', async () => {
    const res = await post([['key', 'utf8.html'], ['x-amz-meta-city', 'Zürich 中'], ['Content-Type', 'text/html']]);
    expect(res.status, res.text).toBe(204);
    const got = await server.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'utf8.html' }));
    expect(await got.Body!.transformToString()).toBe('body');
    // Non-ASCII metadata is answered RFC 2047-encoded, as AWS answers it.
    const encoded = /^=\?UTF-8\?B\?(.*)\?=$/.exec(got.Metadata!.city);
    expect(Buffer.from(encoded![1], 'base64').toString('utf8')).toBe('Zürich 中');
    expect(got.ContentType).toBe('text/html');
  });
});

describe('x-amz-website-redirect-location: one validation for every way in', () => {
  const bad = ['/a b', '/caf\u00e9', '/x<script>', '/x\\y', 'relative.html'];

  it('refuses non-URL characters on PUT, CopyObject, CreateMultipartUpload and POST', async () => {
    await sendAs(server, 'admin', 'PUT', `/${bucket}/src.html`, { body: 'x' });
    for (const value of bad) {
      const headers = { 'x-amz-website-redirect-location': value };
      // A REST header is bytes: a non-ASCII one is left to the form, which sends it as UTF-8 text.
      const attempts = /^[\x20-\x7e]*$/.test(value) ? [
        await sendAs(server, 'admin', 'PUT', `/${bucket}/put.html`, { body: 'x', headers }),
        await sendAs(server, 'admin', 'PUT', `/${bucket}/copy.html`, { headers: { ...headers, 'x-amz-copy-source': `/${bucket}/src.html` } }),
        await sendAs(server, 'admin', 'POST', `/${bucket}/multi.html?uploads`, { headers }),
      ] : [];
      for (const res of attempts) {
        expect(res.status, `${value} ${res.text}`).toBe(400);
        expect(errorCode(res.text)).toBe('InvalidArgument');
      }
      const form = await post([['key', 'form.html'], ['x-amz-website-redirect-location', value]]);
      expect(form.status, `${value} ${form.text}`).toBe(400);
      expect(errorCode(form.text)).toBe('InvalidArgument');
    }
    for (const key of ['put.html', 'copy.html', 'form.html']) expect(await headStatus(key)).toBe(404);
  });

  it('accepts key paths and URLs with percent-encoding, query and fragment', async () => {
    for (const value of ['/caf%C3%A9.html', 'https://example.com/a?b=c&d=e#f', '/x/(1)~y']) {
      const res = await sendAs(server, 'admin', 'PUT', `/${bucket}/ok.html`, { body: 'x', headers: { 'x-amz-website-redirect-location': value } });
      expect(res.status, `${value} ${res.text}`).toBe(200);
    }
  });
});
