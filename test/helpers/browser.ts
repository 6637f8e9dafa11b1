// Headless Debian Chromium for browser tests, through playwright-core (never a downloaded
// browser): a fresh profile per launch, no network of its own, screenshots kept as artifacts
// under test-artifacts/ (gitignored) and checked not to be blank.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { colourCounts, decodePng } from './png.ts';

export const chromiumPath = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // A missing browser fails the test (CI installs it: .ci/run), it is never skipped.
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export const artifactsDir = resolve('test-artifacts');

/**
 * Save a screenshot of `page` as test-artifacts/<group>/<name>.png and measure its pixels: how
 * many distinct colours it has and what share the commonest one covers.
 */
export async function screenshot(page: Page, group: string, name: string): Promise<{ path: string; colours: number; dominantShare: number }> {
  const dir = join(artifactsDir, group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  const png = await page.screenshot({ path, fullPage: true });
  const counts = colourCounts(decodePng(png));
  const total = [...counts.values()].reduce((x, y) => x + y, 0);
  return { path, colours: counts.size, dominantShare: Math.max(...counts.values()) / total };
}
