// `strata lifecycle run [--bucket B] [--region R]`: one lifecycle pass now, on the data root (or
// the configured PostgreSQL database), beside a running server or without one. It goes on from
// where an interrupted pass stood, as the server's worker would. Progress on stderr: a bar
// redrawn in place on a terminal, a line per bucket otherwise; a summary on stdout.
import { loadConfig } from '../config.ts';
import { openRegionStores } from '../store/open.ts';
import { runRegionRound } from './worker.ts';

export const lifecycleUsage = `
lifecycle rules (on the data root; also while the server runs):
  lifecycle run [--bucket B] [--region R]   apply every bucket's rules once now, with progress
`;

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

class PassProgress {
  private label = '';
  private total = 0;
  private done = 0;
  private lastDraw = 0;
  private finished = false;

  constructor(private readonly out: Output) {}

  bucket(region: string, bucket: string, versions: number): void {
    this.end();
    this.label = `${region}/${bucket}`;
    this.total = versions;
    this.done = 0;
    if (!this.out.isTTY) this.out.write(`lifecycle: ${this.label}: ${versions} versions\n`);
    this.draw(true);
  }

  advance(examined: number): void {
    this.done += examined;
    this.draw(false);
  }

  /** The bucket's pass is over: its bar is drawn full and left on its own line. */
  end(): void {
    if (this.label && this.out.isTTY) {
      this.finished = true;
      this.draw(true);
      this.out.write('\n');
    }
    this.label = '';
    this.finished = false;
  }

  private draw(force: boolean): void {
    if (!this.out.isTTY || !this.label) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    // An estimate: the bucket's versions at the start. A pass reads only keys under its rules'
    // common prefix, and uploads too, so the count read can end below or above it.
    const fraction = this.finished || this.total === 0 ? 1 : Math.min(0.99, this.done / this.total);
    const counts = `${(100 * fraction).toFixed(0)}% (${this.done} of ${this.total} versions read)`;
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - counts.length - 6));
    const filled = Math.round(width * fraction);
    this.out.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}`);
  }
}

export async function runLifecycleCommand(args: string[], flags: Record<string, string>, err: Output = process.stderr, out: Output = process.stdout): Promise<number> {
  if (args[0] !== 'run') {
    err.write(`usage: strata lifecycle run [--bucket B] [--region R]\n`);
    return 2;
  }
  const settings = ['data-dir', 'config', 'regions', 'metadata-url', 'lifecycle-day-seconds'];
  const config = loadConfig({ flags: Object.fromEntries(Object.entries(flags).filter(([k]) => settings.includes(k))) });
  if (flags.region && !config.regions.includes(flags.region)) {
    err.write(`strata lifecycle: unknown region "${flags.region}" (regions: ${config.regions.join(', ')})\n`);
    return 2;
  }
  // No recover() here: a running server may have uploads in flight in the same data root.
  const stores = await openRegionStores({ ...config, regions: flags.region ? [flags.region] : config.regions });
  const progress = new PassProgress(err);
  try {
    let found = false;
    for (const store of stores.regions.values()) {
      if (flags.bucket && !(await store.getBucket(flags.bucket))) continue;
      found = true;
      const stats = await runRegionRound(store, {
        dayMs: config.lifecycleDaySeconds * 1000,
        bucket: flags.bucket,
        onBucket: (bucket, versions) => progress.bucket(store.name, bucket, versions),
        afterPage: (examined) => {
          progress.advance(examined);
          return true;
        },
      });
      progress.end();
      out.write(
        `${store.name}: ${stats.buckets} bucket(s) with rules, ${stats.examined} examined, ${stats.expired} expired, ` +
          `${stats.versionsRemoved} noncurrent versions or delete markers removed, ${stats.uploadsAborted} uploads aborted\n`,
      );
    }
    if (flags.bucket && !found) {
      err.write(`strata lifecycle: no bucket "${flags.bucket}" in ${[...stores.regions.keys()].join(', ')}\n`);
      return 1;
    }
    return 0;
  } finally {
    await stores.close();
  }
}
