// Progress bars of long CLI work: `strata usage check` draws one on a terminal (a real pty, made
// by util-linux's script) and prints nothing but its result when piped.
import { PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../helpers/cli-clients.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const strata = join(__dirname, '..', '..', 'bin', 'strata');
let server: TestServer;
const env = () => ({ ...process.env, STRATA_DATA_DIR: server.dataDir, ...(server.services.config.metadataUrl ? { STRATA_METADATA_URL: server.services.config.metadataUrl } : {}) });

beforeAll(async () => {
  server = await startTestServer();
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'progress' }));
  await s3.send(new PutObjectCommand({ Bucket: 'progress', Key: 'k', Body: 'v' }));
});
afterAll(async () => server?.stop());

describe('strata usage check', () => {
  it('prints only its result when piped', async () => {
    const { stdout, stderr } = await run(strata, ['usage', 'check'], { env: env() });
    expect(stdout).toBe('usage consistent: recorded counters match the metadata\n');
    expect(stderr).toBe('');
  });

  it('draws a bar over the regions on a terminal, and wipes it before the result', async () => {
    const script = which('script');
    if (!script) throw new Error('script (util-linux) is not installed');
    const { stdout } = await run(script, ['-qfec', `${strata} usage check`, '/dev/null'], { env: env() });
    expect(stdout).toContain('usage check [');
    expect(stdout).toMatch(/usage check \[#+\] 3\/3 las1/);
    expect(stdout).toContain('\r\x1b[K');
    expect(stdout).toMatch(/\r\x1b\[Kusage consistent: recorded counters match the metadata\r?\n$/);
  });
});
