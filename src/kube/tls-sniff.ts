// One port, two protocols: the admin listener keeps answering plain HTTP (the admin API's
// clients, the CLI) and also accepts TLS, which kubectl needs before it sends a bearer token
// (certificate.ts). The first byte of a connection tells them apart: a TLS handshake record
// starts with 0x16, an HTTP request with a method name's letter.
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AdminTls } from './certificate.ts';

const TLS_HANDSHAKE = 0x16;
/** a connection that sends nothing is closed after this long */
const FIRST_BYTE_TIMEOUT_MS = 15_000;

/** A listener handing plain connections to `http` and TLS ones, decrypted, to `http` too. */
export function acceptTlsToo(http: HttpServer, tls: AdminTls): NetServer {
  const secure = createTlsServer({ key: tls.key, cert: tls.cert, ALPNProtocols: ['http/1.1'], handshakeTimeout: FIRST_BYTE_TIMEOUT_MS }, (tlsSocket) => http.emit('connection', tlsSocket));
  secure.on('tlsClientError', (_err, socket) => socket.destroy());
  return createNetServer((socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? secure : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
}
