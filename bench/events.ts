// `npm run bench -- --with-events`: the benchmark bucket with server access logging into a second
// bucket and event notifications for every object event to a webhook topic, so that the request
// path is measured with the durable outbox busy. The webhook is a sink in this process (200 to
// every POST); its deliveries and the log objects happen on the server's workers meanwhile.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { send, type Target } from './load.ts';
import { repoRoot } from './procs.ts';
import { bucket } from './scenarios.ts';
import { emptySha256, sha256Hex } from './sigv4.ts';

export const logBucket = 'bench-logs';

/** A webhook that accepts everything; counts what it received. */
export async function startSink(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Turns on access logging and notifications for the benchmark bucket of the Strata at `t`. */
export async function enableEvents(t: Target, dataDir: string, sinkUrl: string, region: string): Promise<void> {
  // The topic, on the data root beside the running server (the CLI's documented way).
  execFileSync(join(repoRoot, 'bin', 'strata'), ['topic', 'create', 'bench', '--org', 'default', '--push-endpoint', sinkUrl], {
    env: { ...process.env, STRATA_DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await send(t, { method: 'PUT', path: `/${logBucket}`, payloadHash: emptySha256 });
  const put = async (sub: string, xml: string) => {
    const body = Buffer.from(xml);
    await send(t, { method: 'PUT', path: `/${bucket}`, query: [[sub, '']], body, payloadHash: sha256Hex(body) });
  };
  await put('logging', `<BucketLoggingStatus><LoggingEnabled><TargetBucket>${logBucket}</TargetBucket><TargetPrefix>bench/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`);
  await put(
    'notification',
    `<NotificationConfiguration><TopicConfiguration><Id>all</Id><Topic>arn:aws:sns:${region}:default:bench</Topic>` +
      '<Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event></TopicConfiguration></NotificationConfiguration>',
  );
}
