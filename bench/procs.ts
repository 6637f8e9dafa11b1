// Server child processes for the benchmarks: Strata (bin/strata serve) and the node:http
// baseline, each started on an ephemeral port with its own data directory, plus readers for
// their CPU time (/proc/<pid>/stat) and memory (/proc/<pid>/status).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const benchAccessKey = 'STRATABENCHADMINKEY1';
export const benchSecretKey = 'strata-bench-secret-key-0123456789abcdef';

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  dataDir: string;
  logPath: string;
  stop(): Promise<void>;
}

const clockTicksPerSecond = 100; // getconf CLK_TCK on Linux

/** CPU time (user + system) the process has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) is parenthesised and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicksPerSecond;
}

/**
 * CPU time the whole machine spent in user and system mode (plus steal) so far, in
 * milliseconds (all cores). Minus our own processes' CPU, it tells how busy other programs kept the machine.
 */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu user nice system idle iowait irq softirq steal: steal (time the hypervisor gave to
  // other guests) disturbs a run as much as a busy neighbour process does.
  const [user, nice, system, , , , , steal] = line.split(/\s+/).slice(1, 9).map(Number);
  return ((user + nice + system + (steal || 0)) * 1000) / clockTicksPerSecond;
}

/** Reset the process's VmHWM to its current RSS (Linux clear_refs "5"), so a later VmHWM is that interval's peak. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Resident set size and its high-water mark, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The server's settings come only from here: no inherited STRATA_* (e.g. STRATA_FSYNC=false).
    if (k.startsWith('STRATA_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

async function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, dataDir: string, listening: RegExp): Promise<ServerProcess> {
  mkdirSync(dataDir, { recursive: true });
  // The log lives beside the data directory, not inside it (the server owns its data root).
  const logPath = `${dataDir}.log`;
  const log = createWriteStream(logPath);
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  child.stderr!.pipe(log, { end: false });
  const port = await new Promise<number>((resolvePort, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not report its port within 60 s`)), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- ${name} output ---\n${seen}\n(log: ${logPath})`));
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = listening.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolvePort(Number(m[1]));
      }
    };
    const onExit = (code: number | null, signal: string | null) => fail(new Error(`${name} exited during start-up (code ${code}, signal ${signal})`));
    child.stdout!.on('data', onData);
    // Start-up errors (configuration, imports) go to stderr: keep them for the message.
    child.stderr!.on('data', (chunk: Buffer) => {
      if (seen.length < 64 * 1024) seen += chunk.toString('utf8');
    });
    child.once('exit', onExit);
    child.once('error', (err) => fail(err));
  });
  // Keep draining stdout so that the child never blocks on a full pipe.
  child.stdout!.removeAllListeners('data');
  child.stdout!.pipe(log, { end: false });
  let stopped: Promise<void> | undefined;
  return {
    name,
    child,
    pid: child.pid!,
    port,
    dataDir,
    logPath,
    stop() {
      stopped ??= new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => {
          clearTimeout(kill);
          log.end();
          resolveStop();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

export interface StrataOptions {
  dataDir: string;
  /** further STRATA_* settings (e.g. STRATA_METADATA_URL for the PostgreSQL engine) */
  extraEnv?: Record<string, string>;
  /** directory for a V8 CPU profile of the server (written when it exits) */
  cpuProfDir?: string;
}

/** `bin/strata serve` on 127.0.0.1, an ephemeral port, fsync on (the default). */
export function startStrata(opts: StrataOptions): Promise<ServerProcess> {
  const env = cleanEnv({
    STRATA_HOST: '127.0.0.1',
    STRATA_PORT: '0',
    STRATA_DATA_DIR: opts.dataDir,
    STRATA_ADMIN_ACCESS_KEY: benchAccessKey,
    STRATA_ADMIN_SECRET_KEY: benchSecretKey,
    STRATA_LOG_LEVEL: 'warn',
    ...opts.extraEnv,
  });
  const listening = /Strata listening on http:\/\/127\.0\.0\.1:(\d+)/;
  if (opts.cpuProfDir) {
    // --cpu-prof is not allowed in NODE_OPTIONS: run what bin/strata runs, with the flag.
    const tsx = join(repoRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
    const args = ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, '--import', tsx, join(repoRoot, 'src', 'cli.ts'), 'serve'];
    return startChild('strata', process.execPath, args, env, opts.dataDir, listening);
  }
  return startChild('strata', join(repoRoot, 'bin', 'strata'), ['serve'], env, opts.dataDir, listening);
}

/** The bare node:http baseline (bench/baseline-server.ts). */
export function startBaseline(opts: { dataDir: string; cpuProfDir?: string }): Promise<ServerProcess> {
  const env = cleanEnv({ BASELINE_DATA_DIR: opts.dataDir, BASELINE_PORT: '0' });
  const tsx = join(repoRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  return startChild('baseline', process.execPath, [...prof, '--import', tsx, join(repoRoot, 'bench', 'baseline-server.ts')], env, opts.dataDir, /Baseline listening on http:\/\/127\.0\.0\.1:(\d+)/);
}
