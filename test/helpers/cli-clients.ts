// Running the real command-line clients (aws, rclone, python3 with boto3) against a test server:
// where they are, and an environment that holds only what they are given here, so that no
// configuration, credential or CA bundle of the machine leaks into a test.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import type { StrataConfig } from '../../src/config.ts';
import { startTestServer, type TestServer } from './server.ts';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Every distinct aws CLI: Debian's /usr/bin/aws (v2) and whatever `aws` is first on PATH. */
export function awsClis(): string[] {
  const found = new Map<string, string>();
  for (const p of [which('aws'), '/usr/bin/aws']) {
    if (!p || !existsSync(p)) continue;
    let real = p;
    try {
      real = realpathSync(p);
    } catch {
      /* keep p */
    }
    if (!found.has(real)) found.set(real, p);
  }
  return [...found.values()];
}

export interface ClientTarget {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

/** PATH, a HOME of the test's own, the server's key, and config files that do not exist. */
export function clientEnv(home: string, server: ClientTarget): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'aws-config-none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials-none'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** clientEnv plus an rclone remote named `strata` (s3, path-style) configured by variables. */
export function rcloneEnv(home: string, server: ClientTarget): NodeJS.ProcessEnv {
  return {
    ...clientEnv(home, server),
    RCLONE_CONFIG: join(home, 'rclone.conf-none'),
    RCLONE_CONFIG_STRATA_TYPE: 's3',
    RCLONE_CONFIG_STRATA_PROVIDER: 'Other',
    RCLONE_CONFIG_STRATA_ENV_AUTH: 'false',
    RCLONE_CONFIG_STRATA_ACCESS_KEY_ID: server.accessKey,
    RCLONE_CONFIG_STRATA_SECRET_ACCESS_KEY: server.secretKey,
    RCLONE_CONFIG_STRATA_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_STRATA_REGION: 'us-east-1',
    RCLONE_CONFIG_STRATA_FORCE_PATH_STYLE: 'true',
  };
}

/** The error a command fails with (its stderr and exit code); a command that succeeds fails the test. */
export async function commandError(p: Promise<unknown>): Promise<{ code: number; stderr: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? String(err) };
  }
  throw new Error('expected the command to fail, but it succeeded');
}

/** Fails (never skips) when the clients the client suites drive are missing: aws, and python3 with boto3. */
export async function expectClientsInstalled(): Promise<void> {
  if (awsClis().length === 0) throw new Error('no aws CLI on this machine: .ci/run installs Debian awscli');
  await run('/usr/bin/python3', ['-c', 'import boto3'], { timeout: 30_000 });
}

/** `aws s3api ...` with `cli` against `target`, its JSON answer parsed ({} when it prints nothing). */
export function s3api(cli: string, target: ClientTarget, env: NodeJS.ProcessEnv): (...args: string[]) => Promise<Record<string, unknown>> {
  return async (...args) => {
    const { stdout } = await run(cli, ['--endpoint-url', target.endpoint, '--output', 'json', 's3api', ...args], { env, timeout: 60_000 });
    return stdout.trim() ? JSON.parse(stdout) : {};
  };
}

/** A test server and a working directory (the clients' HOME) beside its data root, for a client suite. */
export async function startClientSuite(name: string, overrides: Partial<StrataConfig> = {}): Promise<{ server: TestServer; work: string; stop: () => Promise<void> }> {
  const server = await startTestServer(overrides);
  const work = join(server.dataDir, '..', `${name}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  return {
    server,
    work,
    async stop() {
      await server.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
