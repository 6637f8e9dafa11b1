// The Expect header as Node parses it: an HTTP/1.1 request whose Expect value holds the token
// 100-continue anywhere ('x, 100-continue', or two Expect headers) is a 100-continue request,
// and must be invited with a 100 Continue once authorized, or a client waiting for it never sends
// its body and the connection is torn down under the response. Any other expectation is ignored,
// as S3 servers do, rather than answered 417. Driven over raw sockets (node:net), so that what
// goes on the wire, repeated headers and interim responses included, is exactly what the test says.
import aws4 from 'aws4';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const bucket = 'expect-bucket';
const big = randomBytes(1024 * 1024);

beforeAll(async () => {
  server = await startTestServer();
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${bucket}` })).status).toBe(200);
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/big`, body: big })).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

interface WireResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** One kept-alive connection: write bytes, read whole responses (interim 1xx ones included). */
class Connection {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    this.socket.on('end', end);
    this.socket.on('close', end);
    this.socket.on('error', end);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  private async waitFor<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (this.ended) throw new Error(`connection closed with ${this.buffered.length} bytes unparsed: ${this.buffered.toString('latin1', 0, 200)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The next response on the wire; a 1xx response has no body. */
  async next(isHead = false): Promise<WireResponse> {
    const head = await this.waitFor(() => {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const text = this.buffered.toString('latin1', 0, end);
      this.buffered = this.buffered.subarray(end + 4);
      return text;
    });
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = status < 200 || isHead ? 0 : Number(headers.get('content-length') ?? 0);
    const body = await this.waitFor(() => {
      if (this.buffered.length < length) return undefined;
      const b = this.buffered.subarray(0, length);
      this.buffered = this.buffered.subarray(length);
      return Buffer.from(b);
    });
    return { status, headers, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The head of a signed request (UNSIGNED-PAYLOAD) as raw text; `extraLines` are sent as given,
 * after the signed headers (repeated Expect headers, Content-Length).
 */
function requestHead(method: string, path: string, extraLines: string[], version = '1.1'): string {
  const opts = {
    host: `127.0.0.1:${server.port}`,
    path,
    method,
    headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } as Record<string, string>,
    service: 's3',
    region: 'us-east-1',
  };
  aws4.sign(opts, { accessKeyId: testAccessKey, secretAccessKey: testSecretKey });
  const lines = [`${method} ${path} HTTP/${version}`, ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`), ...extraLines];
  return lines.join('\r\n') + '\r\n\r\n';
}

describe('Expect', () => {
  for (const [what, expectLines] of [
    ['Expect: x, 100-continue', ['Expect: x, 100-continue']],
    ['two Expect headers (x, then 100-continue)', ['Expect: x', 'Expect: 100-continue']],
    ['Expect: 100-Continue in another case', ['Expect: 100-Continue']],
  ] as const) {
    it(`${what}: a GET with a body is invited with 100 Continue and answered in full (1 MiB)`, async () => {
      const conn = new Connection(server.port);
      try {
        conn.write(requestHead('GET', `/${bucket}/big`, [...expectLines, 'Content-Length: 5']));
        // A strict client sends nothing more until it is invited.
        const interim = await conn.next();
        expect(interim.status).toBe(100);
        conn.write('hello');
        const res = await conn.next();
        expect(res.status).toBe(200);
        expect(res.body.length).toBe(big.length);
        expect(res.body.equals(big)).toBe(true);
        // The connection is still usable: a second request on it is answered too.
        conn.write(requestHead('HEAD', `/${bucket}/big`, []));
        const head = await conn.next(true);
        expect([head.status, head.headers.get('content-length')]).toEqual([200, String(big.length)]);
      } finally {
        conn.close();
      }
    });
  }

  it('a PUT with Expect: foo, 100-continue is invited, and its body stored', async () => {
    const conn = new Connection(server.port);
    try {
      const body = randomBytes(256 * 1024);
      conn.write(requestHead('PUT', `/${bucket}/put-foo-continue`, ['Expect: foo, 100-continue', `Content-Length: ${body.length}`]));
      expect((await conn.next()).status).toBe(100);
      conn.write(body);
      expect((await conn.next()).status).toBe(200);
      const stored = await rawRequest(server.port, { path: `/${bucket}/put-foo-continue` });
      expect(stored.status).toBe(200);
      expect(stored.body.equals(body)).toBe(true);
    } finally {
      conn.close();
    }
  });

  it('an expectation other than 100-continue is ignored: no 417, no interim response', async () => {
    const conn = new Connection(server.port);
    try {
      const body = Buffer.from('sent without waiting');
      conn.write(requestHead('PUT', `/${bucket}/put-foo`, ['Expect: foo', `Content-Length: ${body.length}`]));
      conn.write(body);
      const res = await conn.next();
      expect(res.status).toBe(200);
      conn.write(requestHead('GET', `/${bucket}/put-foo`, ['Expect: something-else']));
      const got = await conn.next();
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('sent without waiting');
    } finally {
      conn.close();
    }
  });

  it('HTTP/1.0 with Expect: 100-continue gets no interim 100 (Node does not treat it as one)', async () => {
    const conn = new Connection(server.port);
    try {
      const body = Buffer.from('one-oh body');
      conn.write(requestHead('PUT', `/${bucket}/put-http10`, ['Expect: 100-continue', `Content-Length: ${body.length}`], '1.0'));
      conn.write(body);
      expect((await conn.next()).status).toBe(200);
    } finally {
      conn.close();
    }
    const stored = await rawRequest(server.port, { path: `/${bucket}/put-http10` });
    expect(stored.text).toBe('one-oh body');
  });
});
