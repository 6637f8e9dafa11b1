// Summaries of benchmark runs (medians over interleaved repeats) and their markdown rendering.
import { median } from './load.ts';

export interface RunRecord {
  scenario: string;
  label: string;
  concurrency: number;
  server: 'strata' | 'baseline';
  repeat: number;
  ops: number;
  errors: number;
  errorMessages: string[];
  wallMs: number;
  opsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPerOp: number;
  clientCpuMsPerOp: number;
  /** share of all cores that other programs used during the run */
  foreignCpuShare: number;
  /** the server's peak RSS during the run (VmHWM after resetting it at the start), MB */
  peakRssMB: number;
  /** the timed section on CLOCK_MONOTONIC (µs), the clock of V8 CPU profiles */
  windowUs: [number, number];
  /** attempts made (a disturbed run is repeated; the quietest is kept) */
  attempts: number;
  cappedByTime: boolean;
}

/**
 * One server's figures over the repeats: medians of the rates and latencies, the highest peak
 * RSS (MB), and the errors summed.
 */
export type SideSummary = Pick<RunRecord, 'opsPerSec' | 'mbPerSec' | 'p50Ms' | 'p99Ms' | 'serverCpuMsPerOp' | 'clientCpuMsPerOp' | 'peakRssMB' | 'errors'> & {
  runs: number;
};

export interface ScenarioSummary {
  scenario: string;
  label: string;
  concurrency: number;
  strata?: SideSummary;
  baseline?: SideSummary;
  /** Strata ops/s ÷ baseline ops/s (ratio of the medians) */
  ratio?: number;
  /** Strata server CPU per op ÷ baseline server CPU per op */
  cpuRatio?: number;
  target?: number;
  meetsTarget?: boolean;
}

function side(runs: RunRecord[]): SideSummary | undefined {
  if (runs.length === 0) return undefined;
  const m = (f: (r: RunRecord) => number) => median(runs.map(f));
  return {
    runs: runs.length,
    opsPerSec: m((r) => r.opsPerSec),
    mbPerSec: m((r) => r.mbPerSec),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    serverCpuMsPerOp: m((r) => r.serverCpuMsPerOp),
    clientCpuMsPerOp: m((r) => r.clientCpuMsPerOp),
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

export function summarise(records: RunRecord[], targets: Map<string, number>, targetConcurrency = 16): ScenarioSummary[] {
  const keys: string[] = [];
  for (const r of records) {
    const k = `${r.scenario}\u0000${r.concurrency}`;
    if (!keys.includes(k)) keys.push(k);
  }
  return keys.map((k) => {
    const [scenario, c] = k.split('\u0000');
    const concurrency = Number(c);
    const rs = records.filter((r) => r.scenario === scenario && r.concurrency === concurrency);
    const strata = side(rs.filter((r) => r.server === 'strata'));
    const baseline = side(rs.filter((r) => r.server === 'baseline'));
    const ratio = strata && baseline && baseline.opsPerSec > 0 ? strata.opsPerSec / baseline.opsPerSec : undefined;
    const cpuRatio = strata && baseline && baseline.serverCpuMsPerOp > 0 ? strata.serverCpuMsPerOp / baseline.serverCpuMsPerOp : undefined;
    const target = concurrency === targetConcurrency ? targets.get(scenario) : undefined;
    return { scenario, label: rs[0].label, concurrency, strata, baseline, ratio, cpuRatio, target, meetsTarget: target !== undefined && ratio !== undefined ? ratio >= target : undefined };
  });
}

function fmt(n: number | undefined, digits?: number): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : Math.abs(n) >= 1 ? 2 : 3);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function markdownTable(summaries: ScenarioSummary[]): string {
  const head = [
    'scenario',
    'c',
    'Strata ops/s',
    'MB/s',
    'p50 ms',
    'p99 ms',
    'srv CPU ms/op',
    'baseline ops/s',
    'MB/s',
    'p50 ms',
    'p99 ms',
    'srv CPU ms/op',
    'ratio',
    'target',
    'CPU ×',
    'Strata RSS MB',
    'errors',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const s of summaries) {
    const st = s.strata;
    const b = s.baseline;
    const mbps = (x?: SideSummary) => (x && x.mbPerSec > 0 ? fmt(x.mbPerSec) : '–');
    const target = s.target !== undefined ? `≥ ${s.target}× ${s.meetsTarget ? '✓' : '✗'}` : '';
    lines.push(
      `| ${[
        s.label,
        s.concurrency,
        fmt(st?.opsPerSec),
        mbps(st),
        fmt(st?.p50Ms),
        fmt(st?.p99Ms),
        fmt(st?.serverCpuMsPerOp),
        fmt(b?.opsPerSec),
        mbps(b),
        fmt(b?.p50Ms),
        fmt(b?.p99Ms),
        fmt(b?.serverCpuMsPerOp),
        s.ratio !== undefined ? `${fmt(s.ratio, 2)}×` : '–',
        target,
        s.cpuRatio !== undefined ? `${fmt(s.cpuRatio, 1)}×` : '–',
        fmt(st?.peakRssMB, 0),
        (st?.errors ?? 0) + (b?.errors ?? 0),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** A listing scenario's c=1 page against a small GET and the unversioned list-1000 page, on Strata. */
export interface PageCost {
  scenario: string;
  p50Ms: number;
  /** p50 ÷ p50 of a 4 KiB GET */
  smallGets?: number;
  /** p50 ÷ p50 of the list-1000 page */
  vsList1000?: number;
  serverCpuMsPerOp: number;
  /** server CPU per op ÷ that of the list-1000 page */
  cpuVsList1000?: number;
}

export function pageCosts(summaries: ScenarioSummary[], scenarios: string[]): PageCost[] {
  const at1 = (id: string) => summaries.find((x) => x.scenario === id && x.concurrency === 1)?.strata;
  const get = at1('get-4k');
  const list = at1('list-1000');
  return scenarios.flatMap((scenario) => {
    const s = at1(scenario);
    if (!s) return [];
    return [{
      scenario,
      p50Ms: s.p50Ms,
      smallGets: get ? s.p50Ms / get.p50Ms : undefined,
      vsList1000: list ? s.p50Ms / list.p50Ms : undefined,
      serverCpuMsPerOp: s.serverCpuMsPerOp,
      cpuVsList1000: list ? s.serverCpuMsPerOp / list.serverCpuMsPerOp : undefined,
    }];
  });
}

/** "= 3.1 small GETs, 1.02× the unversioned page (p50 2.10 ms; server CPU 1.9 ms/op, 0.98×)" */
export function describePageCost(c: PageCost): string {
  const parts = [c.smallGets !== undefined ? `${fmt(c.smallGets, 1)} small GETs` : undefined, c.vsList1000 !== undefined ? `${fmt(c.vsList1000, 2)}× the unversioned list-1000 page` : undefined];
  const cpu = `server CPU ${fmt(c.serverCpuMsPerOp)} ms/op${c.cpuVsList1000 !== undefined ? `, ${fmt(c.cpuVsList1000, 2)}×` : ''}`;
  return `= ${parts.filter(Boolean).join(', ')} (p50 ${fmt(c.p50Ms)} ms at c=1; ${cpu})`;
}
