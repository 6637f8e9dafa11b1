// The request path's work, counted rather than timed: a GET to a bucket that is neither logged nor
// configured otherwise looks its bucket up once (the pipeline's lookup), whatever the features
// watching each request (metrics, server access logging, CORS, request payment) need to know.
// Server access logging once looked it up a second time after every answer; that cost 0.1 ms of
// CPU per request in `npm run bench`.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'lookups' }));
  await s3.send(new PutObjectCommand({ Bucket: 'lookups', Key: 'k', Body: 'v' }));
});
afterAll(async () => server?.stop());

describe('bucket lookups per request', () => {
  it('is one for a GET of an object in a bucket with no logging', async () => {
    const store = server.services.regions.get(server.services.config.defaultRegion)!;
    const getBucket = store.getBucket.bind(store);
    let lookups = 0;
    store.getBucket = (name: string) => {
      lookups++;
      return getBucket(name);
    };
    try {
      const s3 = server.client();
      for (let i = 0; i < 10; i++) await (await s3.send(new GetObjectCommand({ Bucket: 'lookups', Key: 'k' }))).Body!.transformToString();
      // Work after the answer (the access-log recorder) runs once the response has closed.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(lookups).toBe(10);
    } finally {
      store.getBucket = getBucket;
    }
  });
});
