// Progress of `strata migrate` on stderr: a bar redrawn in place when stderr is a terminal,
// otherwise (a log file, a pipe, a test) a plain line every few seconds and at each table's end.

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class MigrationProgress {
  private label = '';
  private total = 0;
  private done = 0;
  private startedAt = 0;
  private copiedThisRun = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: ProgressOutput,
    /** milliseconds between plain lines (terminal redraws are limited to ten a second) */
    private readonly lineIntervalMs = 2000,
  ) {}

  /** A table starts: `done` of its `total` rows were copied by earlier runs. */
  start(region: string, table: string, total: number, done: number): void {
    this.label = `${region} ${table}`;
    this.total = total;
    this.done = done;
    this.copiedThisRun = 0;
    this.startedAt = Date.now();
    this.lastDraw = 0;
    if (!this.out.isTTY) this.out.write(`migrate: ${this.label}: ${total} rows${done > 0 ? `, ${done} already copied (resuming)` : ''}\n`);
    this.draw(false);
  }

  advance(rows: number): void {
    this.done += rows;
    this.copiedThisRun += rows;
    this.draw(false);
  }

  /** The table's last batch committed. */
  finish(): void {
    this.draw(true);
    if (this.out.isTTY) this.out.write('\n');
  }

  /** A line of its own (a region skipped, a verification), not overwritten by the bar. */
  note(text: string): void {
    this.out.write(`${text}\n`);
  }

  private rate(): number {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds > 0 ? Math.round(this.copiedThisRun / seconds) : 0;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    const interval = this.out.isTTY ? 100 : this.lineIntervalMs;
    if (!force && now - this.lastDraw < interval) return;
    // A plain line for the start itself was written already; the next comes after the interval.
    if (!this.out.isTTY && this.lastDraw === 0 && !force) {
      this.lastDraw = now;
      return;
    }
    this.lastDraw = now;
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const percent = `${(100 * fraction).toFixed(1)}%`;
    const counts = `${this.done}/${this.total} rows ${percent} (${this.rate()} rows/s)`;
    if (!this.out.isTTY) {
      this.out.write(`migrate: ${this.label}: ${counts}${force ? ' done' : ''}\n`);
      return;
    }
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - counts.length - 6));
    const filled = Math.round(width * fraction);
    this.out.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}`);
  }
}
