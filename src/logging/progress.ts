// A progress bar for CLI work that walks something in steps (regions, buckets), drawn in place on
// stderr when stderr is a terminal and silent otherwise (a pipe, a log file, a test), so that
// piped output stays exactly the command's result. Redraws are limited to ten a second.

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class StepProgress {
  private done = 0;
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: ProgressOutput = process.stderr,
  ) {}

  /** Working on `what` (named beside the bar) after `done` steps. */
  step(what: string): void {
    this.draw(what, false);
  }

  /** One step is over. */
  advance(what = ''): void {
    this.done = Math.min(this.total, this.done + 1);
    this.draw(what, this.done === this.total);
  }

  /** All done: the bar is wiped, leaving the terminal to the command's own output. */
  finish(): void {
    if (this.out.isTTY && this.lastDraw > 0) this.out.write('\r\x1b[K');
  }

  private draw(what: string, force: boolean): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const counts = `${this.done}/${this.total}${what ? ` ${what}` : ''}`;
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - counts.length - 6));
    const filled = this.total === 0 ? width : Math.round((width * this.done) / this.total);
    this.out.write(`\r\x1b[K${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}`);
  }
}
