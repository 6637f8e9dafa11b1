// Summarise V8 CPU profiles (.cpuprofile, as written by node --cpu-prof, e.g. by
// `npm run bench -- --cpu-prof`): where the process spent its own (self) time, by function and
// by source file, and the inclusive time of Strata's own functions (src/).
//
// Run: node --import tsx bench/profile-summary.ts PROFILE_FILE_OR_DIR [--top 25]
//        [--results bench/results/<time>.json --scenario put-4k [--concurrency 16]] [--callers NAME]
//
// With --results, only the samples taken during that scenario's timed runs against this
// server (the windows recorded in the results file, on the same monotonic clock as the
// profile) are counted, and times are also shown per operation. --callers NAME lists the call
// chains that lead to the function NAME (e.g. --callers pragma).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseFlags } from './flags.ts';
import { repoRoot } from './procs.ts';
import type { RunRecord } from './report.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? url.slice(7) : url;
  if (path.startsWith(repoRoot)) return relative(repoRoot, path);
  return path;
}

interface Window {
  from: number;
  to: number;
}

function summarise(file: string, top: number, windows: Window[] | undefined, ops: number | undefined, callers: string | undefined): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node: sample i covers the interval up to the next sample's timestamp.
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const dt = deltas[i + 1] ?? 0;
    if (windows && !windows.some((w) => at >= w.from && at < w.to)) continue;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const special = new Set(['(idle)', '(program)', '(garbage collector)']);
  const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;

  const selfByFn = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') idleUs += us;
    selfByFn.set(label(n), (selfByFn.get(label(n)) ?? 0) + us);
    const fileKey = special.has(n.callFrame.functionName) ? n.callFrame.functionName : shortUrl(n.callFrame.url);
    selfByFile.set(fileKey, (selfByFile.get(fileKey) ?? 0) + us);
    // Inclusive time of Strata's own functions (src/): each distinct one on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (!shortUrl(node.callFrame.url).startsWith('src/')) continue;
      const key = label(node);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveOwn.set(key, (inclusiveOwn.get(key) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  // --callers NAME: the call chains leading to a function, with the time spent in it.
  const callerLines: string[] = [];
  if (callers) {
    const chains = new Map<string, number>();
    for (const [id, us] of selfUs) {
      // Time under any frame named NAME, attributed to the chain above its outermost occurrence.
      let hit: number | undefined;
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.functionName === callers) hit = cur;
      if (hit === undefined) continue;
      const chain: string[] = [];
      for (let cur = parent.get(hit); cur !== undefined && chain.length < 6; cur = parent.get(cur)) chain.push(label(byId.get(cur)!));
      const key = chain.join(' < ');
      chains.set(key, (chains.get(key) ?? 0) + us);
    }
    callerLines.push(`\ncallers of ${callers}:`);
    for (const [k, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 10)) callerLines.push(`  ${(us / 1000).toFixed(0).padStart(7)} ms${ops ? `${(us / ops).toFixed(1).padStart(9)} µs/op` : ''}  ${k}`);
  }
  const pct = (us: number) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%`;
  const amount = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms` + (ops ? `${(us / ops).toFixed(1).padStart(9)} µs/op` : '');
  const table = (title: string, m: Map<string, number>, n: number) =>
    [
      title,
      ...[...m]
        .filter(([k]) => !k.startsWith('(idle)'))
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, us]) => `  ${amount(us)} ${pct(us)}  ${k}`),
    ].join('\n');
  return [
    `# ${file}`,
    `${windows ? `${windows.length} timed window(s): ` : ''}${(totalUs / 1e6).toFixed(1)} s sampled, main thread busy ${(busyUs / 1e6).toFixed(2)} s${ops ? ` over ${ops} operations (${(busyUs / ops).toFixed(0)} µs/op)` : ''}; percentages are of busy time`,
    table('\nself time by function:', selfByFn, top),
    table('\nself time by file:', selfByFile, 15),
    table('\ninclusive time of functions in src/:', inclusiveOwn, top),
    ...callerLines,
  ].join('\n');
}

const flags = parseFlags(process.argv.slice(3));
const target = process.argv[2];
if (!target || target.startsWith('--')) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts PROFILE_FILE_OR_DIR [--top 25] [--results FILE --scenario ID [--concurrency N]] [--callers NAME]\n');
  process.exit(2);
}
let windows: Window[] | undefined;
let ops: number | undefined;
if (flags.results) {
  if (!flags.scenario) throw new Error('--results needs --scenario');
  const results = JSON.parse(readFileSync(flags.results, 'utf8')) as { runs: RunRecord[] };
  // The profile directory tells which server it belongs to (…/strata or …/baseline).
  const server = flags.server ?? (basename(statSync(target).isDirectory() ? target : join(target, '..')) === 'baseline' ? 'baseline' : 'strata');
  const runs = results.runs.filter((r) => r.scenario === flags.scenario && r.server === server && (flags.concurrency === undefined || r.concurrency === Number(flags.concurrency)));
  if (runs.length === 0) throw new Error(`no ${server} runs of ${flags.scenario} in ${flags.results}`);
  windows = runs.map((r) => ({ from: r.windowUs[0], to: r.windowUs[1] }));
  ops = runs.reduce((n, r) => n + r.ops, 0);
}
const files = statSync(target).isDirectory() ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f)) : [target];
// The largest file is the main thread's; the others are the module loader's worker thread.
files.sort((a, b) => statSync(b).size - statSync(a).size);
for (const f of flags.all ? files : files.slice(0, 1)) process.stdout.write(summarise(f, Number(flags.top ?? 25), windows, ops, flags.callers) + '\n\n');
