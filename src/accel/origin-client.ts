// The HTTP side of a cache fill: asks another node's internal endpoint (origin.ts) for an object,
// with undici, signed with the node key (node-auth.ts). The JSON metadata at the head of the
// body is read off first; the rest of the body (stored bytes) is handed back as the same
// stream, unread, so the cache can write it to disk while clients read what has arrived.
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { signNodeRequest } from './node-auth.ts';
import { originTarget, OriginUnavailable, type Origin, type OriginOutcome, type OriginQuery } from './origin.ts';

export { OriginUnavailable };
import { decodeMetaHeader, META_HEADER, META_LENGTH_HEADER, parseAnswer, STORED_LENGTH_HEADER, type WireAnswer } from './wire.ts';


/** Largest metadata document accepted (a 1 MiB bucket policy, ACLs, 10,000 parts). */
const MAX_META_BYTES = 16 * 1024 * 1024;

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unquote(v: string | undefined): string | undefined {
  return v?.trim().replace(/^"(.*)"$/, '$1');
}

/** Wait until the stream has at least n bytes buffered (or ends), then take exactly n. */
async function readExactly(stream: Readable, n: number): Promise<Buffer> {
  if (n === 0) return Buffer.alloc(0);
  for (;;) {
    const chunk = stream.read(n) as Buffer | null;
    if (chunk !== null) {
      if (chunk.length !== n) throw new Error('answer ended inside its metadata');
      return chunk;
    }
    if (stream.readableEnded || stream.destroyed) throw new Error('answer ended inside its metadata');
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('close', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onReadable = () => done();
      const onEnd = () => done();
      const onError = (err: Error) => done(err);
      stream.on('readable', onReadable);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('close', onEnd);
    });
  }
}

/**
 * An answer to a version query must echo the version id: an origin of a release that did not
 * read by version ignores the parameter and would answer about the current version instead.
 */
function answersQuery(answer: WireAnswer, q: OriginQuery): WireAnswer {
  if (q.versionId !== undefined && answer.versionId !== q.versionId) throw new Error('the origin does not read by version id (an older release?)');
  return answer;
}

export class HttpOrigin implements Origin {
  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    // 304 answers carry the metadata in a header; bucket policies alone may reach 1 MiB.
    maxHeaderSize: 4 * 1024 * 1024,
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
    connections: 128,
  });

  constructor(private readonly endpoints: Map<string, string>, private readonly nodeKey: Buffer, private readonly onRequest: () => void = () => undefined) {}

  has(region: string): boolean {
    return this.endpoints.has(region);
  }

  async fetch(region: string, q: OriginQuery): Promise<OriginOutcome> {
    const base = this.endpoints.get(region);
    if (!base) throw new OriginUnavailable(region, 'no endpoint configured');
    const target = originTarget(region, q);
    const headers: Record<string, string> = { ...signNodeRequest(this.nodeKey, 'GET', target) };
    if (q.ifNoneMatch !== undefined) headers['if-none-match'] = `"${q.ifNoneMatch}"`;
    if (q.ifMatch !== undefined) headers['if-match'] = `"${q.ifMatch}"`;
    this.onRequest();
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(base + target, { method: 'GET', headers, dispatcher: this.agent });
    } catch (err) {
      throw new OriginUnavailable(region, (err as Error).message);
    }
    const body = res.body as unknown as Readable;
    // Destroying an undici body (a dropped fill, a failed check) emits an abort error: with no
    // listener it would be an uncaught exception. Consumers attach their own listeners as well.
    body.on('error', () => undefined);
    try {
      if (res.statusCode === 304) {
        await res.body.dump();
        const meta = headerOf(res.headers, META_HEADER);
        const version = unquote(headerOf(res.headers, 'etag'));
        if (!meta || !version) throw new Error('304 without metadata');
        return { status: 'not-modified', answer: answersQuery(decodeMetaHeader(meta), q), version };
      }
      if (res.statusCode === 412) {
        await res.body.dump();
        return { status: 'changed' };
      }
      if (res.statusCode !== 200) {
        const text = (await res.body.text()).slice(0, 500);
        const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
        if (res.statusCode === 400 && /range/i.test(text)) return { status: 'bad-range' };
        throw new Error(`HTTP ${res.statusCode} ${code}`.trim());
      }
      const metaLength = Number(headerOf(res.headers, META_LENGTH_HEADER));
      const storedLength = Number(headerOf(res.headers, STORED_LENGTH_HEADER));
      if (!Number.isSafeInteger(metaLength) || metaLength <= 0 || metaLength > MAX_META_BYTES || !Number.isSafeInteger(storedLength) || storedLength < 0) {
        throw new Error('answer without a valid metadata length');
      }
      const answer = answersQuery(parseAnswer((await readExactly(body, metaLength)).toString('utf8')), q);
      const version = unquote(headerOf(res.headers, 'etag'));
      if (storedLength === 0) {
        await res.body.dump();
        return { status: 'ok', answer, version, bodyLength: 0 };
      }
      return { status: 'ok', answer, version, bodyLength: storedLength, body };
    } catch (err) {
      body.destroy();
      if (err instanceof OriginUnavailable) throw err;
      throw new OriginUnavailable(region, (err as Error).message);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
