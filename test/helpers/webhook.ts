// A real HTTP webhook receiver on loopback for notification tests: records every POST (headers
// and JSON body), and can refuse deliveries (503) or be stopped and started again on its port.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** answer 503 instead of 200 (the receiver is "down" but reachable) */
  refusing = false;
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.refusing) {
          res.writeHead(503).end();
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Records of the received S3 events (test events left out). */
  records(): Record<string, any>[] {
    return this.received.flatMap((r) => ((r.json.Records as Record<string, any>[] | undefined) ?? []));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
