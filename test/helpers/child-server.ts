// A Strata server in a child process (bin/strata serve), for tests that kill it: kill -9 by the
// PID this helper started, restart on the same data root. Every child is remembered so that a
// failing test cannot leave one running (killChildren in afterAll).
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { testAccessKey, testSecretKey } from './server.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const started = new Set<ChildProcess>();

export interface ChildServer {
  proc: ChildProcess;
  endpoint: string;
  port: number;
}

/** Start `bin/strata serve` on `dataDir` (ephemeral port, the test key); resolves once it listens. */
export function startChild(dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(join(repo, 'bin', 'strata'), ['serve'], {
      env: { ...process.env, STRATA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: dataDir, STRATA_ADMIN_ACCESS_KEY: testAccessKey, STRATA_ADMIN_SECRET_KEY: testSecretKey, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(proc);
    proc.once('exit', () => started.delete(proc));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ proc, endpoint: m[1], port: Number(m[2]) });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}): ${out}`));
    });
  });
}

/** SIGKILL this child (by its own PID) and wait until it has exited. */
export function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return r();
    proc.once('exit', () => r());
    proc.kill('SIGKILL');
  });
}

/** Kill every child still running; bounded, so that cleanup itself cannot hang. */
export async function killChildren(): Promise<void> {
  const alive = [...started].filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.race([Promise.all(alive.map(kill9)), new Promise((r) => setTimeout(r, 5000))]);
}
