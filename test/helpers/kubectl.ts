// Running the real kubectl against a test server: where the binaries are (the dispatcher on
// PATH, and the pinned kubectl.1.27 … kubectl.1.33 beside its real path), a kubeconfig written
// by `strata kubeconfig`, and an environment with a fresh KUBECONFIG and KUBECACHEDIR per run.
// A missing kubectl fails the tests that need it, with a message saying what to install.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { which } from './cli-clients.ts';

export const strataBin = resolve(import.meta.dirname, '../../bin/strata');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function runProcess(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** kubectl on PATH (the dispatcher), or a failure naming what is missing. */
export function kubectlOnPath(): string {
  const found = which('kubectl');
  if (!found) {
    throw new Error('kubectl is not on PATH: these tests drive the real kubectl (CI machines have it, with kubectl.1.27 … kubectl.1.33 beside it); install it to run them');
  }
  return found;
}

/** A pinned client, e.g. pinnedKubectl('1.27') → /usr/lib/google-cloud-sdk/bin/kubectl.1.27. */
export function pinnedKubectl(version: string): string {
  const path = join(dirname(realpathSync(kubectlOnPath())), `kubectl.${version}`);
  if (!existsSync(path)) throw new Error(`the pinned client ${path} is missing: install kubectl.${version} beside kubectl`);
  return path;
}

/** One kubectl user: a kubeconfig and a cache of its own, in `dir`. */
export class KubectlUser {
  readonly kubeconfig: string;
  private readonly cache: string;

  constructor(
    readonly dir: string,
    kubeconfigText: string,
    readonly bin = kubectlOnPath(),
  ) {
    this.kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(this.kubeconfig, kubeconfigText, { mode: 0o600 });
    this.cache = mkdtempSync(join(dir, 'kubecache-'));
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: this.dir, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cache, ...extra };
  }

  run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return runProcess(this.bin, args, { env: this.env(extraEnv), cwd: this.dir });
  }

  /** A shell command line exactly as the seed writes it (`kubectl` = this user's binary). */
  sh(script: string): Promise<Run> {
    return runProcess('bash', ['-c', `kubectl() { "${this.bin}" "$@"; }\n${script}`], { env: this.env(), cwd: this.dir });
  }
}

// The seed's object-storage-crd.yaml, verbatim.
export const seedManifest = `apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: my-example
  namespace: my-namespace
spec:
  owner: my-namespace
  access: full # Possible options are: full, readwrite, read, or write
  secretName: my-example-secret
`;

/** `strata kubeconfig` (the real CLI) for `token`, on a test server's data root. */
export async function kubeconfigFor(server: { admin: { endpoint: string }; dataDir: string }, token: string, namespace: string): Promise<string> {
  const r = await runProcess(strataBin, ['kubeconfig', '--token', token, '--namespace', namespace, '--server', server.admin.endpoint, '--data-dir', server.dataDir], { env: { PATH: process.env.PATH } });
  if (r.code !== 0 || r.stderr !== '') throw new Error(`strata kubeconfig failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Whitespace runs as one space, blank lines dropped: how the seed prints kubectl's tables. */
export function collapse(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .filter(Boolean)
    .join('\n');
}
