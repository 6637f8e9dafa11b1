// Connections that stop half-way are closed by the server instead of being held for ever: a body
// that stops arriving (idle timeout while the request is received) and a head trickled a few
// bytes at a time (headersTimeout, checked every few seconds). Once a request has arrived the
// idle timer is lifted, so a client that pauses while reading a large answer still gets all of
// it. The server keeps answering valid requests throughout. Driven over raw sockets (node:net);
// the timeouts are shortened on the running server so that the test waits seconds, not a minute,
// and every wait is bounded.
import aws4 from 'aws4';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headersTimeoutMs, requestIdleTimeoutMs } from '../../src/app.ts';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const bucket = 'hostile-bucket';
const big = randomBytes(16 * 1024 * 1024);

beforeAll(async () => {
  server = await startTestServer();
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${bucket}` })).status).toBe(200);
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/big`, body: big })).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

/** A signed request head (UNSIGNED-PAYLOAD), without the blank line that ends it. */
function signedHead(method: string, path: string, headers: Record<string, string> = {}): string {
  const host = `127.0.0.1:${server.port}`;
  const opts = { host, path, method, service: 's3', region: 'us-east-1', headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...headers } };
  aws4.sign(opts, { accessKeyId: testAccessKey, secretAccessKey: testSecretKey });
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`];
  for (const [k, v] of Object.entries(opts.headers as Record<string, string>)) if (k.toLowerCase() !== 'host') lines.push(`${k}: ${v}`);
  return lines.join('\r\n');
}

interface Watched {
  socket: Socket;
  /** everything the server sent */
  received: () => Buffer;
  /** resolves when the server closes the connection (or rejects after `ms`) */
  closed: (ms: number) => Promise<void>;
}

function open(): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port });
    const chunks: Buffer[] = [];
    let isClosed = false;
    const waiters: (() => void)[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('close', () => {
      isClosed = true;
      for (const w of waiters) w();
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed: (ms) =>
          new Promise<void>((done, fail) => {
            if (isClosed) return done();
            const timer = setTimeout(() => fail(new Error(`the server did not close the connection within ${ms} ms`)), ms);
            waiters.push(() => {
              clearTimeout(timer);
              done();
            });
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** A valid round trip: PUT then GET of the same bytes. */
async function serverStillAnswers(key: string): Promise<void> {
  const body = randomBytes(100_000);
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/${key}`, body })).status).toBe(200);
  const got = await rawRequest(server.port, { path: `/${bucket}/${key}` });
  expect(got.status).toBe(200);
  expect(got.body.equals(body)).toBe(true);
}

describe('connections that stop half-way', () => {
  it('are bounded by default: an idle timeout while a request arrives, a deadline for its head', () => {
    // Fastify's defaults were no idle timeout at all and Node's 60 s for heads.
    expect(server.app.server.timeout).toBe(requestIdleTimeoutMs);
    expect(requestIdleTimeoutMs).toBeGreaterThan(0);
    expect(server.app.server.headersTimeout).toBe(headersTimeoutMs);
    expect(headersTimeoutMs).toBeLessThan(60_000);
    // No deadline for a whole request: a large upload on a slow link may take longer than any.
    expect(server.app.server.requestTimeout).toBe(0);
  });

  describe('with the timeouts shortened', () => {
    let saved: { timeout: number; headersTimeout: number };
    beforeAll(() => {
      saved = { timeout: server.app.server.timeout, headersTimeout: server.app.server.headersTimeout };
      server.app.server.timeout = 1000;
      server.app.server.headersTimeout = 1500;
    });
    afterAll(() => {
      server.app.server.timeout = saved.timeout;
      server.app.server.headersTimeout = saved.headersTimeout;
    });

    it('closes a connection whose body stops arriving, and keeps answering valid requests', async () => {
      const c = await open();
      c.socket.write(`${signedHead('PUT', `/${bucket}/half`, { 'Content-Length': String(4 * 1024 * 1024) })}\r\n\r\n`);
      c.socket.write(randomBytes(200 * 1024));
      await c.closed(10_000);
      // Nothing half-sent was stored.
      expect((await rawRequest(server.port, { path: `/${bucket}/half` })).status).toBe(404);
      await serverStillAnswers('after-half-body');
    }, 30_000);

    it('closes a connection whose head is trickled and never finished', async () => {
      const c = await open();
      const head = `${signedHead('GET', `/${bucket}/big`)}\r\n${Array.from({ length: 100 }, (_, n) => `x-slow-${n}: ${n}`).join('\r\n')}`;
      let at = 0;
      // A few bytes every 200 ms: the idle timer never fires, only the head's deadline can.
      const trickle = setInterval(() => {
        if (c.socket.destroyed || at >= head.length) return;
        c.socket.write(head.slice(at, at + 4));
        at += 4;
      }, 200);
      try {
        await c.closed(15_000);
      } finally {
        clearInterval(trickle);
      }
      expect(at).toBeLessThan(head.length); // closed before the head could have been completed
      expect(c.received().toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
      await serverStillAnswers('after-slowloris');
    }, 30_000);

    it('does not close a connection once its request has arrived, while its client pauses reading the answer', async () => {
      const c = await open();
      c.socket.pause();
      c.socket.write(`${signedHead('GET', `/${bucket}/big`)}\r\nConnection: close\r\n\r\n`);
      // Well past the 1 s idle timeout with the server's writes stalled on a full socket.
      await sleep(3000);
      c.socket.resume();
      await c.closed(20_000);
      const text = c.received();
      const headEnd = text.indexOf('\r\n\r\n');
      expect(text.subarray(0, 12).toString('latin1')).toBe('HTTP/1.1 200');
      expect(text.subarray(headEnd + 4).equals(big)).toBe(true);
    }, 30_000);
  });
});
