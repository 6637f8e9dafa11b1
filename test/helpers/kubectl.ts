// Running the real kubectl against a test server: where the binaries are (the dispatcher on
// PATH, and the pinned kubectl.1.27 … kubectl.1.33 beside its real path), a kubeconfig written
// by `strata kubeconfig`, and an environment with a fresh KUBECONFIG and KUBECACHEDIR per run.
// A missing kubectl fails the tests that need it, with a message saying what to install.
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { which } from './cli-clients.ts';
import { runProcess, type Run } from './processes.ts';

export { collapse, seedManifest } from './seed.ts';

export const strataBin = resolve(import.meta.dirname, '../../bin/strata');

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

/** `strata kubeconfig` (the real CLI) for `token`, on a test server's data root. */
export async function kubeconfigFor(server: { admin: { endpoint: string }; dataDir: string }, token: string, namespace: string): Promise<string> {
  const r = await runProcess(strataBin, ['kubeconfig', '--token', token, '--namespace', namespace, '--server', server.admin.endpoint, '--data-dir', server.dataDir], { env: { PATH: process.env.PATH } });
  if (r.code !== 0 || r.stderr !== '') throw new Error(`strata kubeconfig failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
