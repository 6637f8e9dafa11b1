// The benchmark baseline: a bare node:http server that does the least an object server must do.
// PUT streams the body into a file, GET streams a file back, a GET on a bucket answers a
// fixed-size ListObjectsV2-shaped XML page built from the first 1,000 entries of the bucket's
// directory. No authentication (signature headers are ignored), no metadata, no hashing, no
// fsync. It receives exactly the requests Strata receives, so the ratio between the two is the
// cost of everything Strata does on top of moving bytes.
//
// Run by bench/run.ts as a child process: BASELINE_DATA_DIR (required), BASELINE_PORT (0 for an
// ephemeral port). Prints "Baseline listening on http://127.0.0.1:PORT".
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, opendir, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dataDir = process.env.BASELINE_DATA_DIR;
if (!dataDir) {
  process.stderr.write('BASELINE_DATA_DIR must be set\n');
  process.exit(2);
}
mkdirSync(dataDir, { recursive: true });

/** The same stream buffer size Strata uses for blobs, so that the ratio does not measure it. */
const streamBufferBytes = 1 << 20;
const listPageKeys = 1000;
const fixedDate = new Date().toISOString();

function fileName(segment: string): string {
  // One flat directory per bucket: the key, percent-encoded, is the file name.
  return encodeURIComponent(decodeURIComponent(segment));
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function reply(res: ServerResponse, status: number, body?: string): void {
  res.statusCode = status;
  if (body !== undefined) {
    res.setHeader('Content-Type', 'application/xml');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
  } else {
    res.setHeader('Content-Length', 0);
    res.end();
  }
}

async function list(res: ServerResponse, bucket: string): Promise<void> {
  const dir = await opendir(join(dataDir!, bucket), { bufferSize: 256 });
  const parts: string[] = [];
  let n = 0;
  try {
    for await (const entry of dir) {
      parts.push(
        `<Contents><Key>${xmlEscape(decodeURIComponent(entry.name))}</Key><LastModified>${fixedDate}</LastModified>` +
          `<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
      if (++n >= listPageKeys) break;
    }
  } finally {
    // Breaking out of the iterator closes the directory; closing twice throws.
    await dir.close().catch(() => undefined);
  }
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>${xmlEscape(bucket)}</Name><Prefix></Prefix><KeyCount>${n}</KeyCount><MaxKeys>${listPageKeys}</MaxKeys>` +
    `<IsTruncated>${n >= listPageKeys}</IsTruncated>${parts.join('')}</ListBucketResult>`;
  reply(res, 200, body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const slash = path.indexOf('/', 1);
  const bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (!bucket || bucket.includes('..')) return reply(res, 400);
  const method = req.method ?? 'GET';
  if (!key) {
    if (method === 'PUT') {
      await mkdir(join(dataDir!, bucket), { recursive: true });
      req.resume();
      return reply(res, 200);
    }
    if (method === 'GET') return list(res, bucket);
    req.resume();
    return reply(res, 200);
  }
  const file = join(dataDir!, bucket, fileName(key));
  switch (method) {
    case 'PUT': {
      await pipeline(req, createWriteStream(file, { highWaterMark: streamBufferBytes }));
      return reply(res, 200);
    }
    case 'GET':
    case 'HEAD': {
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        return reply(res, 404);
      }
      res.statusCode = 200;
      res.setHeader('Content-Length', size);
      res.setHeader('Content-Type', 'application/octet-stream');
      if (method === 'HEAD' || size === 0) return void res.end();
      await pipeline(createReadStream(file, { start: 0, end: size - 1, highWaterMark: streamBufferBytes }), res);
      return;
    }
    case 'DELETE':
      await unlink(file).catch(() => undefined);
      return reply(res, 204);
    default:
      req.resume();
      return reply(res, 200);
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => {
    if (res.headersSent) res.destroy(err);
    else reply(res, 500, `<Error><Code>InternalError</Code><Message>${xmlEscape(err.message)}</Message></Error>`);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`Baseline listening on http://127.0.0.1:${port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
