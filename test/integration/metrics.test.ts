// Prometheus metrics after real SDK traffic: /metrics on the admin listener (and on the S3 port
// behind the metrics bearer token) is parsed, linted by Prometheus's own promtool, and its counters
// and histograms are compared before and after known requests, by exact amounts.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { request } from 'undici';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtoolCheck, scrape, valueOf, type Sample } from '../helpers/prometheus.ts';
import { which } from '../helpers/cli-clients.ts';
import { eventually } from '../helpers/async.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';
import { rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
let server: TestServer;
let s3: S3Client;
const bucket = 'metrics-b';
const region = 'lga1';
const body = 'm'.repeat(1000);

const metricsUrl = () => `${server.admin.endpoint}/metrics`;
const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);

beforeAll(async () => {
  server = await startTestServer({ eventBackoffMaxSeconds: 1 });
  // Checksums in headers, not aws-chunked trailers: the request's Content-Length is then the body's.
  s3 = server.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => server?.stop());

describe('GET /metrics on the admin listener', () => {
  it('is Prometheus text that promtool parses and lints without a complaint', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'warm', Body: 'x' }));
    const { text, type } = await scrape(metricsUrl());
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const { code, output } = await promtoolCheck(text);
    // Exit 3 is "lint problems" (1 would be a page it cannot parse). The only ones are in three
    // gauges of prom-client's default process metrics, whose names it has always ended in _total.
    const problems = output.split('\n').filter(Boolean);
    expect(problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(p))).toEqual([]);
    expect(code).toBe(problems.length === 0 ? 0 : 3);
    // process metrics (prom-client's defaults) are there too
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^strata_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
  });

  it('counts requests, bytes, errors and durations by the right amounts', async () => {
    const before = (await scrape(metricsUrl())).samples;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: body }));
    for (let i = 0; i < 3; i++) expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a' }))).Body!.transformToString()).toBe(body);
    const ranged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a', Range: 'bytes=0-99' }));
    expect((await ranged.Body!.transformToString()).length).toBe(100);
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'missing' })))).$metadata.httpStatusCode).toBe(404);
    const after = (await scrape(metricsUrl())).samples;

    const requests = (operation: string, status: string) => delta(before, after, 'strata_s3_requests_total', { operation, region, status });
    expect(requests('PutObject', '200')).toBe(2);
    expect(requests('GetObject', '200')).toBe(3);
    expect(requests('GetObject', '206')).toBe(1);
    expect(requests('HeadObject', '404')).toBe(1);
    expect(delta(before, after, 'strata_s3_received_bytes_total', { operation: 'PutObject', region })).toBe(2000);
    expect(delta(before, after, 'strata_s3_received_bytes_total', { operation: 'GetObject', region })).toBe(0);
    expect(delta(before, after, 'strata_s3_sent_bytes_total', { operation: 'GetObject', region })).toBe(3100);
    expect(delta(before, after, 'strata_s3_sent_bytes_total', { operation: 'HeadObject', region })).toBe(0);
    expect(delta(before, after, 'strata_s3_errors_total', { code: 'NoSuchKey', operation: 'HeadObject' })).toBe(1);
    expect(delta(before, after, 'strata_s3_errors_total', { code: 'NoSuchKey', operation: 'GetObject' })).toBe(0);

    for (const family of ['strata_s3_request_duration_seconds', 'strata_s3_time_to_first_byte_seconds']) {
      expect(delta(before, after, `${family}_count`, { operation: 'GetObject' })).toBe(4);
      expect(delta(before, after, `${family}_bucket`, { operation: 'GetObject', le: '+Inf' })).toBe(4);
      expect(delta(before, after, `${family}_sum`, { operation: 'GetObject' })).toBeGreaterThan(0);
      // buckets are cumulative
      const buckets = after.filter((s) => s.name === `${family}_bucket` && s.labels.operation === 'GetObject').map((s) => s.value);
      expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    }
    // label sets stay bounded: no key or bucket name is a label
    const labelValues = after.flatMap((s) => Object.values(s.labels));
    expect(labelValues).not.toContain(bucket);
    expect(labelValues).not.toContain('missing');
  });

  it('reports stored bytes, objects and quota per organisation and region', async () => {
    const { samples } = await scrape(metricsUrl());
    const labels = { organisation: 'default', region };
    const usage = await server.services.regions.get(region)!.usageOf('default');
    expect(valueOf(samples, 'strata_usage_stored_bytes', labels)).toBe(usage.bytes);
    expect(valueOf(samples, 'strata_usage_objects', labels)).toBe(usage.objects);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'c', Body: body }));
    const after = (await scrape(metricsUrl())).samples;
    expect(valueOf(after, 'strata_usage_stored_bytes', labels) - usage.bytes).toBe(1000);
    expect(valueOf(after, 'strata_usage_objects', labels) - usage.objects).toBe(1);
    expect(valueOf(after, 'strata_quota_bytes', labels)).toBe(server.services.config.defaultQuotaBytes);
  });

  it('shows blobs released by an overwrite in the blob-gc queue until they are unlinked', async () => {
    const big = Buffer.alloc(200 * 1024, 7); // over the inline limit: stored as a blob file
    const labels = { worker: 'blob-gc', region };
    const depth = async () => valueOf((await scrape(metricsUrl())).samples, 'strata_worker_queue_depth', labels);
    const before = await depth();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: big }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: big }));
    if (server.services.config.metadataUrl) {
      // Shared filesystem: the first blob waits out the grace period for the collector.
      expect((await depth()) - before).toBe(1);
      const { samples } = await scrape(metricsUrl());
      expect(samples.some((s) => s.name === 'strata_worker_queue_oldest_age_seconds' && s.labels.region === region && s.value >= 0)).toBe(true);
    } else {
      // One node: the released blob is unlinked just after the commit, and leaves the queue.
      let now = await depth();
      for (let i = 0; i < 100 && now !== 0; i++) now = await depth();
      expect(now).toBe(0);
      expect(valueOf((await scrape(metricsUrl())).samples, 'strata_worker_queue_oldest_age_seconds', labels)).toBe(0);
    }
  });

  it('shows notifications waiting for a refusing webhook in the notify queue, and the queue draining once it answers', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      const token = (server as TestServer & { adminToken?: string }).adminToken;
      const created = await fetch(`${server.admin.endpoint}/v1/topics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'metrics', organisation: 'default', 'push-endpoint': receiver.url }),
      });
      expect(created.status).toBe(201);
      await s3.send(new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { TopicConfigurations: [{ TopicArn: `arn:aws:sns:${region}:default:metrics`, Events: ['s3:ObjectCreated:*'] }] },
      }));
      const labels = { worker: 'notify', region };
      const depth = async () => valueOf((await scrape(metricsUrl())).samples, 'strata_worker_queue_depth', labels);
      await eventually(async () => expect(await depth()).toBe(0), 10_000); // the s3:TestEvent went out
      receiver.refusing = true;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'notified', Body: body }));
      expect(await depth()).toBe(1);
      const { samples } = await scrape(metricsUrl());
      expect(valueOf(samples, 'strata_worker_queue_oldest_age_seconds', labels)).toBeGreaterThanOrEqual(0);
      expect(valueOf(samples, 'strata_worker_queue_depth', { worker: 'replicate', region })).toBe(0);
      receiver.refusing = false;
      await eventually(async () => expect(await depth()).toBe(0), 15_000);
      expect(receiver.records().map((r) => r.s3.object.key)).toContain('notified');
      await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }));
    } finally {
      await receiver.stop();
    }
  });

  it('counts a request in flight until its response is done', async () => {
    // A signed PUT that declares 10 bytes and sends 5: the server is inside it until the rest arrives.
    const host = `127.0.0.1:${server.port}`;
    const signed = aws4.sign(
      { host, path: `/${bucket}/slow`, method: 'PUT', service: 's3', region: 'us-east-1', headers: { 'Content-Length': '10', 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } },
      { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    );
    const head = Object.entries(signed.headers as Record<string, string>).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`PUT /${bucket}/slow HTTP/1.1\r\n${head}\r\nhello`);
    let inFlight = 0;
    for (let i = 0; i < 200 && inFlight === 0; i++) inFlight = valueOf((await scrape(metricsUrl())).samples, 'strata_s3_requests_in_flight');
    expect(inFlight).toBe(1);
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => {
        text += d;
        if (/\r\n\r\n/.test(text)) resolve(text);
      });
    });
    socket.write('world');
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    socket.destroy();
    for (let i = 0; i < 200 && inFlight !== 0; i++) inFlight = valueOf((await scrape(metricsUrl())).samples, 'strata_s3_requests_in_flight');
    expect(inFlight).toBe(0);
  });

  it('counts accelerated cache misses, fills and hits', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'accel', Body: body }));
    const before = (await scrape(metricsUrl())).samples;
    const host = `accel-object.${region}.localhost:${server.port}`;
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(server.port, { path: `/${bucket}/accel`, host });
      expect(res.status, res.text).toBe(200);
      expect(res.text).toBe(body);
    }
    // A fill is counted when its file is complete on disk, which may be just after the response.
    let after = (await scrape(metricsUrl())).samples;
    for (let i = 0; i < 100 && delta(before, after, 'strata_accel_cache_fills_total', {}) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = (await scrape(metricsUrl())).samples;
    }
    expect(delta(before, after, 'strata_accel_cache_misses_total', {})).toBe(1);
    expect(delta(before, after, 'strata_accel_cache_fills_total', {})).toBe(1);
    expect(delta(before, after, 'strata_accel_cache_hits_total', {})).toBe(1);
    expect(valueOf(after, 'strata_accel_cache_bytes')).toBeGreaterThanOrEqual(1000);
    expect(delta(before, after, 'strata_s3_requests_total', { operation: 'AccelGetObject', region, status: '200' })).toBe(2);
    expect(delta(before, after, 'strata_s3_sent_bytes_total', { operation: 'AccelGetObject', region })).toBe(2000);
  });

  it('is not served on the S3 port without a metrics token: that is S3 (a bucket named metrics)', async () => {
    const res = await request(`${server.endpoint}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0000' } });
    const text = await res.body.text();
    expect(res.statusCode).not.toBe(200);
    expect(text).toContain('<Error>');
  });
});

describe('with a metrics token', () => {
  let guarded: TestServer;
  const token = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    guarded = await startTestServer({ metricsToken: token, metricsBucketLabel: true });
  });
  afterAll(async () => guarded?.stop());

  it('wants the token on the admin listener, and serves the S3 port with it', async () => {
    const open = await request(`${guarded.admin.endpoint}/metrics`);
    expect(open.statusCode).toBe(401);
    expect(open.headers['www-authenticate']).toContain('Bearer');
    await open.body.text();
    const wrong = await request(`${guarded.admin.endpoint}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789abcdeX' } });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.text();
    expect((await scrape(`${guarded.admin.endpoint}/metrics`, { authorization: `Bearer ${token}` })).text).toContain('strata_s3_requests_total');
    expect((await scrape(`${guarded.endpoint}/metrics`, { authorization: `Bearer ${token}` })).text).toContain('strata_s3_requests_total');
    // A wrong token on the S3 port is an S3 request like any other (not a metrics page).
    const s3Wrong = await request(`${guarded.endpoint}/metrics`, { headers: { authorization: `Bearer ${token}X` } });
    expect(await s3Wrong.body.text()).toContain('<Error>');
  });

  it('labels requests with existing buckets when metricsBucketLabel is on, never with missing ones', async () => {
    const client = guarded.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    await client.send(new CreateBucketCommand({ Bucket: 'labelled' }));
    await client.send(new PutObjectCommand({ Bucket: 'labelled', Key: 'k', Body: 'v' }));
    await sdkError(client.send(new PutObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k', Body: 'v' })));
    const { samples } = await scrape(`${guarded.admin.endpoint}/metrics`, { authorization: `Bearer ${token}` });
    expect(valueOf(samples, 'strata_s3_requests_total', { operation: 'PutObject', status: '200', bucket: 'labelled' })).toBe(1);
    expect(samples.some((s) => s.labels.bucket === 'no-such-bucket-here')).toBe(false);
    expect(valueOf(samples, 'strata_s3_errors_total', { code: 'NoSuchBucket', operation: 'PutObject' })).toBe(1);
  });
});

describe('the Grafana dashboard (deploy/grafana/strata-dashboard.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'deploy', 'grafana', 'strata-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));

  it('queries only metrics the server exposes', async () => {
    const { text } = await scrape(metricsUrl());
    const names = new Set(exprs.flatMap(({ expr }) => expr.match(/\b(?:strata|process|nodejs)_[a-z0-9_]+\b/g) ?? []));
    expect(names.size).toBeGreaterThan(15);
    for (const name of names) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      expect(text, name).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
    }
  });

  it('has PromQL that Prometheus parses (promtool check rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-dashboard-'));
    try {
      const concrete = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*').replaceAll('$region', '.*');
      const rules = ['groups:', '  - name: strata-dashboard', '    rules:', ...exprs.map(({ expr }, i) => `      - record: strata:dashboard_${i}\n        expr: ${JSON.stringify(concrete(expr))}`)].join('\n') + '\n';
      writeFileSync(join(dir, 'rules.yml'), rules);
      const { stdout } = await run(which('promtool') ?? 'promtool', ['check', 'rules', join(dir, 'rules.yml')]);
      expect(stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
