// Reading a Prometheus text exposition in tests: samples by name and labels, and Prometheus's own
// parser and linter (promtool check metrics, from Debian's prometheus package) over the whole page.
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { expect } from 'vitest';
import { which } from './cli-clients.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const m of text.matchAll(re)) labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return labels;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2]) : {}, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; 0 when absent. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ text: string; samples: Sample[]; type: string }> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  return { text, samples: parseExposition(text), type: String(res.headers['content-type']) };
}

/** Prometheus's parser and linter over the page: its exit status and what it printed. */
export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const promtool = which('promtool');
  if (!promtool) throw new Error('promtool is not installed (Debian package prometheus; .ci/run installs it)');
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}
