// npm run bench — Strata against a bare node:http baseline, measured in the same run.
//
// Both servers run as child processes on 127.0.0.1 (Strata through bin/strata serve, fsync on,
// the default), so that each one's CPU time can be read from /proc/<pid>/stat around every
// run. One load generator (bench/load.ts) sends both the same SigV4-signed requests. Every
// scenario runs at concurrency 1 and 16, repeated (default 3×) and interleaved: scenario by
// scenario, Strata then baseline, then baseline then Strata on the next repeat, so that
// drift on this noisy machine hits both sides alike. Reported figures are medians over the
// repeats. `sync` runs (untimed) before every run so that the baseline's unflushed writes are
// not paid for by whoever runs next.
//
// Flags:
//   --quick              smoke run: 1 repeat, few operations, a 10,000-object list bucket
//   --repeats N          repeats per scenario (default 3; --quick: 1)
//   --only a,b           scenario ids: put-4k get-4k put-1m get-1m put-64m put-64m-unsigned get-64m mpu-256m list-1000
//                        list-1000-versioned list-markers (= list-markers, list-markers-versions,
//                        list-markers-versions-live); a listing
//                        scenario brings get-4k and list-1000 along (its figures are reported against them)
//   --conc 1,16          concurrency levels (default 1,16)
//   --list-objects N     objects in the list bucket (default 100000; --quick: 10000)
//   --versioned-keys N   keys in the versioned bucket, 11 versions each (default 10000; --quick: 2000)
//   --markers N          delete markers before the live keys of the markers prefix (default 100000; --quick: 10000)
//   --no-baseline        Strata only
//   --no-strata          baseline only (to check the harness itself)
//   --cpu-prof           write V8 CPU profiles of both servers to bench/results/prof-<time>/{strata,baseline}/
//                        (summarise with: node --import tsx bench/profile-summary.ts DIR)
//   --retries N          repeat a run disturbed by other programs (>10% of the CPU) up to N times (default 2),
//   --retry-budget-min M   but only during the first M minutes of the benchmark (default 12; --quick: 3)
//   --data-root DIR      where the servers' temporary data directories go (default: the OS temp dir)
//   --keep               keep the data directories afterwards
//   --with-events        Strata's benchmark bucket with server access logging and notifications for every
//                        object event to a webhook (a sink in this process): the outbox busy (bench/events.ts)
//   --with-logs          Strata writes its JSON access log (STRATA_ACCESS_LOG) to a file beside its data
//   --memory [--size N]  run bench/memory.ts instead (5 GiB up- and download, peak RSS)
//   --cluster            run bench/cluster.ts instead: the PostgreSQL engine against SQLite and the
//                        baseline, then 2 and 3 nodes over one database [--repeats N --list-objects N]
//
// Output: a markdown table on stdout, progress on stderr, and bench/results/<time>.json (+ .md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from './flags.ts';
import { connect, median, percentile, runLoad, type Target } from './load.ts';
import { benchAccessKey, benchSecretKey, cpuMs, machineBusyMs, memory, resetPeakRss, repoRoot, startBaseline, startStrata, type ServerProcess } from './procs.ts';
import { describePageCost, markdownTable, pageCosts, summarise, type RunRecord } from './report.ts';
import { enableEvents, startSink } from './events.ts';
import { makeBodies, makeScenarios, populateList, setup, type ServerKind } from './scenarios.ts';
import { liveKeys, populateMarkers, populateVersioned, versionsPerKey, type Populated } from './versioned-lists.ts';

/** CLOCK_MONOTONIC in microseconds: the clock of V8 CPU profiles, so run windows can be cut out of them. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

function syncDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

interface Side {
  kind: ServerKind;
  proc: ServerProcess;
  target: Target;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.memory) {
    const { runMemoryBench } = await import('./memory.ts');
    await runMemoryBench(flags);
    return;
  }
  if (flags.cluster) {
    const { runClusterBench } = await import('./cluster.ts');
    await runClusterBench(flags);
    return;
  }
  const known = new Set(['quick', 'repeats', 'only', 'conc', 'list-objects', 'no-baseline', 'no-strata', 'cpu-prof', 'data-root', 'keep', 'retries', 'retry-budget-min', 'versioned-keys', 'markers', 'with-events', 'with-logs']);
  for (const name of Object.keys(flags)) if (!known.has(name)) throw new Error(`unknown flag --${name}`);
  const quick = flags.quick === 'true';
  const repeats = Number(flags.repeats ?? (quick ? 1 : 3));
  const concurrencies = (flags.conc ?? '1,16').split(',').map(Number);
  const listObjects = Number(flags['list-objects'] ?? (quick ? 10_000 : 100_000));
  const versionedKeys = Number(flags['versioned-keys'] ?? (quick ? 2000 : 10_000));
  const markers = Number(flags.markers ?? (quick ? 10_000 : 100_000));
  const withBaseline = flags['no-baseline'] !== 'true';
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error('--repeats must be a positive integer');
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1 || c > 64)) throw new Error('--conc takes integers 1-64');
  if (!Number.isInteger(listObjects) || listObjects < 1000) throw new Error('--list-objects must be at least 1000');
  if (!Number.isInteger(versionedKeys) || versionedKeys < 1000) throw new Error('--versioned-keys must be at least 1000');
  if (!Number.isInteger(markers) || markers < 1000) throw new Error('--markers must be at least 1000');

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const cpuProfDir = flags['cpu-prof'] ? join(resultsDir, `prof-${stamp}`) : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });

  log('preparing bodies (random data, SHA-256 computed before timing)');
  const bodies = makeBodies();
  let scenarios = makeScenarios(bodies, listObjects, versionedKeys);
  if (flags.only) {
    const wanted = new Set(flags.only.split(','));
    for (const id of wanted) if (!scenarios.some((s) => s.id === id || s.group === id)) throw new Error(`unknown scenario ${id}; known: ${scenarios.map((s) => s.id).join(' ')}`);
    const chosen = scenarios.filter((s) => wanted.has(s.id) || (s.group !== undefined && wanted.has(s.group)));
    const required = new Set(chosen.flatMap((s) => s.requires ?? []).filter((id) => !chosen.some((s) => s.id === id)));
    if (required.size) log(`also running ${[...required].join(', ')}: the chosen scenarios are reported against them`);
    scenarios = scenarios.filter((s) => chosen.includes(s) || required.has(s.id));
  }

  const root = mkdtempSync(join(flags['data-root'] ?? tmpdir(), 'strata-bench-'));
  const sides: Side[] = [];
  const creds = { accessKeyId: benchAccessKey, secretAccessKey: benchSecretKey, region: 'us-east-1' };
  let failed = true;
  const cleanup = async () => {
    for (const s of sides) await s.target.pool.close().catch(() => undefined);
    for (const s of sides) await s.proc.stop();
    // After a failure the servers' logs (beside their data) are worth reading: keep everything.
    if (flags.keep !== 'true' && !failed) rmSync(root, { recursive: true, force: true });
    else log(`data and server logs kept in ${root}`);
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping servers');
    failed = false; // nothing to investigate: remove the data unless --keep
    void cleanup().then(() => process.exit(130));
  });

  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  const records: RunRecord[] = [];
  const populate: Record<string, { objects: number; ms: number; opsPerSec: number }> = {};
  let populateV: Populated | undefined;
  let populateM: Populated | undefined;
  const started = Date.now();
  try {
    if (flags['no-strata'] !== 'true') {
      const extraEnv: Record<string, string> = flags['with-logs'] === 'true' ? { STRATA_ACCESS_LOG: join(root, 'access.log') } : {};
      const strata = await startStrata({ dataDir: join(root, 'strata'), cpuProfDir: cpuProfDir && join(cpuProfDir, 'strata'), extraEnv });
      sides.push({ kind: 'strata', proc: strata, target: connect('strata', strata.port, creds) });
      log(`Strata pid ${strata.pid} on port ${strata.port} (log ${strata.logPath})`);
    }
    if (withBaseline) {
      const baseline = await startBaseline({ dataDir: join(root, 'baseline'), cpuProfDir: cpuProfDir && join(cpuProfDir, 'baseline') });
      sides.push({ kind: 'baseline', proc: baseline, target: connect('baseline', baseline.port, creds) });
      log(`baseline pid ${baseline.pid} on port ${baseline.port}`);
    }

    const needsList = scenarios.some((s) => s.needsList);
    const fixtures = scenarios.flatMap((s) => (s.fixture ? [s.fixture] : []));
    for (const s of sides) {
      log(`${s.kind}: creating buckets and GET fixtures`);
      await setup(s.target, bodies, fixtures);
      if (needsList) {
        log(`${s.kind}: populating ${listObjects.toLocaleString('en-US')} zero-byte objects (32 PUTs in flight)`);
        syncDisks();
        const p = await populateList(s.target, listObjects, 32, (n) => log(`  ${s.kind}: ${n.toLocaleString('en-US')} objects`));
        populate[s.kind] = { objects: listObjects, ms: p.ms, opsPerSec: (listObjects / p.ms) * 1000 };
        log(`  ${s.kind}: ${Math.round(populate[s.kind].opsPerSec)} PUT/s (${(p.ms / 1000).toFixed(1)} s)${p.errors.length ? `, errors: ${p.errors.join('; ')}` : ''}`);
      }
      if (s.kind !== 'strata') continue;
      if (flags['with-events'] === 'true') {
        sink = await startSink();
        await enableEvents(s.target, join(root, 'strata'), sink.url, 'lga1');
        log('strata: access logging and notifications enabled on the benchmark bucket');
      }
      const progress = (n: number) => log(`  ${n.toLocaleString('en-US')} requests`);
      if (scenarios.some((x) => x.needsVersioned)) {
        log(`strata: versioned bucket: ${versionedKeys.toLocaleString('en-US')} keys × ${versionsPerKey} zero-byte PUTs (32 in flight)`);
        syncDisks();
        populateV = await populateVersioned(s.target, versionedKeys, progress);
        log(`  strata: ${Math.round(populateV.opsPerSec)} PUT/s (${(populateV.ms / 1000).toFixed(1)} s)`);
      }
      if (scenarios.some((x) => x.needsMarkers)) {
        log(`strata: markers bucket: ${markers.toLocaleString('en-US')} DELETEs (delete markers), then ${liveKeys.toLocaleString('en-US')} PUTs (32 in flight)`);
        syncDisks();
        populateM = await populateMarkers(s.target, markers, progress);
        log(`  strata: ${Math.round(populateM.opsPerSec)} requests/s (${(populateM.ms / 1000).toFixed(1)} s)`);
      }
    }

    const cores = cpus().length;
    const maxRetries = Number(flags.retries ?? 2);
    // Repeating disturbed runs stops after this much wall time, so that a machine that stays
    // busy cannot stretch the benchmark indefinitely.
    const retryBudgetMs = Number(flags['retry-budget-min'] ?? (quick ? 3 : 12)) * 60_000;
    /** share of all cores used by other programs above which a run is considered disturbed */
    const noisyShare = 0.1;
    /** Wait (at most `maxMs`) for a 300 ms window in which other programs leave the CPU alone. */
    const waitForQuiet = async (maxMs: number): Promise<void> => {
      const until = Date.now() + maxMs;
      const ours = () => sides.reduce((n, x) => n + cpuMs(x.proc.pid), 0) + (() => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; })();
      for (;;) {
        const b0 = machineBusyMs();
        const o0 = ours();
        await new Promise((r) => setTimeout(r, 300));
        const share = Math.max(0, machineBusyMs() - b0 - (ours() - o0)) / (300 * cores);
        if (share <= noisyShare || Date.now() >= until) return;
      }
    };
    const runOnce = async (scenario: (typeof scenarios)[number], c: number, s: Side, rep: number): Promise<RunRecord> => {
      const counts = scenario.counts(c, quick);
      const outer = scenario.outerConcurrency?.(c) ?? c;
      syncDisks();
      if (Date.now() - started < retryBudgetMs) await waitForQuiet(quick ? 2000 : 5000);
      let cpu0 = 0;
      let cpu1 = 0;
      let busy0 = 0;
      let busy1 = 0;
      const otherPids = sides.filter((x) => x !== s).map((x) => x.proc.pid);
      let other0 = 0;
      let other1 = 0;
      let peakKnown = false;
      const windowUs: [number, number] = [0, 0];
      let peakRss = NaN;
      const result = await runLoad({
        concurrency: outer,
        ops: counts.ops,
        timeCapMs: counts.timeCapMs,
        warmupOps: counts.warmupOps,
        task: scenario.task(s.target, s.kind, c, `r${rep}c${c}`),
        onStart: () => {
          windowUs[0] = monotonicUs();
          peakKnown = resetPeakRss(s.proc.pid);
          busy0 = machineBusyMs();
          cpu0 = cpuMs(s.proc.pid);
          other0 = otherPids.reduce((n, pid) => n + cpuMs(pid), 0);
        },
        onEnd: () => {
          windowUs[1] = monotonicUs();
          peakRss = memory(s.proc.pid).hwm;
          busy1 = machineBusyMs();
          cpu1 = cpuMs(s.proc.pid);
          other1 = otherPids.reduce((n, pid) => n + cpuMs(pid), 0);
        },
      });
      const foreignMs = Math.max(0, busy1 - busy0 - (cpu1 - cpu0) - (other1 - other0) - result.clientCpuMs);
      return {
        scenario: scenario.id,
        label: scenario.label,
        concurrency: c,
        server: s.kind,
        repeat: rep,
        ops: result.ops,
        errors: result.errors,
        errorMessages: result.errorMessages,
        wallMs: result.wallMs,
        opsPerSec: (result.ops / result.wallMs) * 1000,
        mbPerSec: scenario.opBytes > 0 ? ((result.bytes / result.wallMs) * 1000) / 1e6 : 0,
        p50Ms: percentile(result.latenciesMs, 50),
        p99Ms: percentile(result.latenciesMs, 99),
        serverCpuMsPerOp: result.ops > 0 ? (cpu1 - cpu0) / result.ops : NaN,
        clientCpuMsPerOp: result.ops > 0 ? result.clientCpuMs / result.ops : NaN,
        foreignCpuShare: foreignMs / (result.wallMs * cores),
        peakRssMB: peakKnown ? peakRss / 1e6 : NaN,
        windowUs,
        attempts: 1,
        cappedByTime: result.cappedByTime,
      };
    };

    const sidesOf = (scenario: (typeof scenarios)[number], order: Side[]) => (scenario.strataOnly ? order.filter((s) => s.kind === 'strata') : order);
    const plan = scenarios.reduce((n, x) => n + sidesOf(x, sides).length, 0) * concurrencies.length * repeats;
    let done = 0;
    for (let rep = 0; rep < repeats; rep++) {
      const order = rep % 2 === 0 ? sides : [...sides].reverse();
      for (const scenario of scenarios) {
        for (const c of concurrencies) {
          for (const s of sidesOf(scenario, order)) {
            // A run during which other programs kept the machine busy is repeated (up to
            // twice more) and the quietest attempt is kept.
            let rec: RunRecord | undefined;
            for (let attempt = 0; attempt <= maxRetries; attempt++) {
              const r = await runOnce(scenario, c, s, rep);
              if (!rec || r.foreignCpuShare < rec.foreignCpuShare) rec = r;
              rec.attempts = attempt + 1;
              if (r.foreignCpuShare <= noisyShare || r.errors > 0) break;
              if (Date.now() - started > retryBudgetMs) break; // keep the whole run near its time budget
              log(`    busy machine: other programs used ${(r.foreignCpuShare * 100).toFixed(0)}% of the CPU during this run; repeating it`);
            }
            rec = rec!;
            records.push(rec);
            done++;
            log(
              `[${done}/${plan}] rep ${rep + 1} ${scenario.id} c=${c} ${s.kind.padEnd(8)} ${rec.ops} ops in ${(rec.wallMs / 1000).toFixed(1)} s: ` +
                `${rec.opsPerSec.toFixed(1)} ops/s${rec.mbPerSec ? `, ${rec.mbPerSec.toFixed(1)} MB/s` : ''}, p50 ${rec.p50Ms.toFixed(2)} ms, p99 ${rec.p99Ms.toFixed(2)} ms, ` +
                `server CPU ${rec.serverCpuMsPerOp.toFixed(3)} ms/op, other programs ${(rec.foreignCpuShare * 100).toFixed(0)}% CPU${rec.errors ? `, ${rec.errors} ERRORS` : ''}${rec.cappedByTime ? ' (time cap)' : ''}`,
            );
            for (const m of rec.errorMessages.slice(0, 5)) log(`    error: ${m}`);
          }
        }
      }
    }

    const strataSide = sides.find((s) => s.kind === 'strata');
    // VmHWM is reset at the start of every run: the whole benchmark's peak is the largest run peak
    // (setup and populating the list bucket are not covered; the current RSS stands in for them).
    const strataRuns = records.filter((r) => r.server === 'strata' && Number.isFinite(r.peakRssMB));
    const strataPeakBytes = strataSide
      ? Math.max(memory(strataSide.proc.pid).rss, ...strataRuns.map((r) => r.peakRssMB * 1e6))
      : NaN;
    const strataEndRss = strataSide ? memory(strataSide.proc.pid).rss : NaN;
    const targets = new Map(scenarios.filter((s) => s.target !== undefined).map((s) => [s.id, s.target!] as [string, number]));
    const summaries = summarise(records, targets);
    const pageCost = (kind: 'strata' | 'baseline') => {
      const list = summaries.find((x) => x.scenario === 'list-1000' && x.concurrency === 1)?.[kind];
      const get = summaries.find((x) => x.scenario === 'get-4k' && x.concurrency === 1)?.[kind];
      return list && get ? list.p50Ms / get.p50Ms : undefined;
    };
    const listCost = { strata: pageCost('strata'), baseline: pageCost('baseline'), target: 20 };
    const totalErrors = records.reduce((n, r) => n + r.errors, 0);

    const lines: string[] = [];
    lines.push(`## Strata vs node:http baseline (${quick ? 'quick, ' : ''}median of ${repeats} interleaved repeat${repeats > 1 ? 's' : ''})`);
    lines.push('');
    lines.push(markdownTable(summaries));
    lines.push('');
    lines.push('ratio = Strata ops/s ÷ baseline ops/s (equal to the MB/s ratio); targets apply at concurrency 16. CPU × = Strata server CPU per op ÷ baseline server CPU per op. Strata RSS = its peak resident memory during the run (highest over the repeats). MB = 10⁶ bytes.');
    if (listCost.strata !== undefined) {
      lines.push('');
      lines.push(
        `List page cost: one 1,000-key ListObjectsV2 page (of ${listObjects.toLocaleString('en-US')} objects) = ${listCost.strata.toFixed(1)} small GETs on Strata ` +
          `(p50 list ÷ p50 4 KiB GET at c=1; target ≤ ${listCost.target} ${listCost.strata <= listCost.target ? '✓' : '✗'})` +
          (listCost.baseline !== undefined ? `; baseline (directory read, no sorting or metadata): ${listCost.baseline.toFixed(1)}` : '') +
          '.',
      );
    }
    const versionedCosts = pageCosts(summaries, ['list-1000-versioned', 'list-markers', 'list-markers-versions', 'list-markers-versions-live']);
    const costOf = (id: string) => versionedCosts.find((c) => c.scenario === id);
    const cv = costOf('list-1000-versioned');
    if (cv) lines.push('', `Versioned bucket (${versionedKeys.toLocaleString('en-US')} keys, each with ${versionsPerKey - 1} noncurrent versions): one 1,000-key ListObjectsV2 page ${describePageCost(cv)}.`);
    const cm = costOf('list-markers');
    const cmv = costOf('list-markers-versions');
    if (cm || cmv) lines.push('', `Prefix holding ${markers.toLocaleString('en-US')} delete markers, then ${liveKeys.toLocaleString('en-US')} live keys:`);
    if (cm) lines.push(`- ListObjectsV2 first page (1,000 live keys, every marker skipped) ${describePageCost(cm)};`);
    const cml = costOf('list-markers-versions-live');
    if (cmv) lines.push(`- ListObjectVersions first page (1,000 delete markers) ${describePageCost(cmv)}${cml ? ';' : '.'}`);
    if (cml) lines.push(`- ListObjectVersions first page of prefix m/live- (1,000 versions after all the markers) ${describePageCost(cml)}.`);
    for (const [kind, p] of Object.entries(populate)) {
      lines.push(`Populating the list bucket (${kind}): ${Math.round(p.opsPerSec)} zero-byte PUT/s at 32 in flight (${(p.ms / 1000).toFixed(1)} s).`);
    }
    if (populateV) lines.push(`Populating the versioned bucket (strata): ${Math.round(populateV.opsPerSec)} zero-byte PUT/s at 32 in flight (${populateV.requests.toLocaleString('en-US')} in ${(populateV.ms / 1000).toFixed(1)} s).`);
    if (populateM) lines.push(`Populating the markers prefix (strata): ${Math.round(populateM.opsPerSec)} DELETE/PUT per second at 32 in flight (${populateM.requests.toLocaleString('en-US')} in ${(populateM.ms / 1000).toFixed(1)} s).`);
    lines.push(`Strata RSS: peak ${(strataPeakBytes / 1e6).toFixed(0)} MB over the timed runs, ${(strataEndRss / 1e6).toFixed(0)} MB at the end. Errors: ${totalErrors}. Wall time ${((Date.now() - started) / 60000).toFixed(1)} min.`);
    const clientCpu = summaries
      .filter((s) => s.concurrency === Math.max(...concurrencies))
      .map((s) => `${s.scenario} ${s.strata?.clientCpuMsPerOp.toFixed(3) ?? '–'}/${s.baseline?.clientCpuMsPerOp.toFixed(3) ?? '–'}`);
    lines.push(`Load-generator CPU ms/op at c=${Math.max(...concurrencies)} (Strata/baseline; client and servers share ${cpus().length} cores): ${clientCpu.join(', ')}.`);
    const retried = records.filter((r) => r.attempts > 1).length;
    const disturbed = records.filter((r) => r.foreignCpuShare > noisyShare).length;
    lines.push(
      `Other programs on this machine: median ${(median(records.map((r) => r.foreignCpuShare)) * 100).toFixed(0)}% of the CPU during a run; ` +
        `${retried} run${retried === 1 ? '' : 's'} repeated because the machine was busy; ${disturbed} kept with more than ${noisyShare * 100}% (quietest of ${maxRetries + 1} attempts).`,
    );
    const errorLines = records.filter((r) => r.errors > 0).map((r) => `- ${r.scenario} c=${r.concurrency} ${r.server} rep ${r.repeat + 1}: ${r.errorMessages.join('; ')}`);
    if (errorLines.length) lines.push('', '### Errors', ...errorLines);
    const text = lines.join('\n');
    process.stdout.write(`\n${text}\n`);

    const out = {
      when: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), node: process.version },
      options: { quick, repeats, concurrencies, listObjects, versionedKeys, markers, scenarios: scenarios.map((s) => s.id), withBaseline },
      summaries,
      listPageCostInSmallGets: listCost,
      versionedPageCosts: versionedCosts,
      populate,
      populateVersioned: populateV,
      populateMarkers: populateM,
      strataPeakRssBytes: strataPeakBytes,
      strataEndRssBytes: strataEndRss,
      totalErrors,
      runs: records,
      cpuProfileDir: cpuProfDir,
    };
    const jsonPath = join(resultsDir, `${stamp}.json`);
    writeFileSync(jsonPath, JSON.stringify(out, null, 2));
    writeFileSync(join(resultsDir, `${stamp}.md`), text + '\n');
    log(`results: ${jsonPath}`);
    failed = false;
  } finally {
    if (sink) {
      log(`webhook sink: ${sink.received()} notification deliveries received during the run`);
      await sink.close();
    }
    await cleanup();
    if (cpuProfDir) log(`CPU profiles of the servers: ${cpuProfDir}/strata and ${cpuProfDir}/baseline (node --import tsx bench/profile-summary.ts DIR)`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
