// Headless Debian Chromium for browser tests, through playwright-core (never a downloaded
// browser): a fresh profile per launch, no network of its own, screenshots kept as artifacts
// under test-artifacts/ (gitignored) and checked not to be blank.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

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
 * Save a screenshot of `page` as test-artifacts/<group>/<name>.png and measure it in a blank
 * page's canvas: how many distinct colours it has and what share the commonest one covers.
 */
export async function screenshot(page: Page, group: string, name: string): Promise<{ path: string; colours: number; dominantShare: number }> {
  const dir = join(artifactsDir, group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  const png = await page.screenshot({ path, fullPage: true });
  const probe = await page.context().newPage();
  try {
    // A string, not a function: this file is type-checked without the DOM library.
    const stats = (await probe.evaluate(`(async () => {
      const img = new Image();
      img.src = 'data:image/png;base64,${png.toString('base64')}';
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const g = canvas.getContext('2d');
      g.drawImage(img, 0, 0);
      const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const c = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      return { colours: counts.size, dominantShare: Math.max(...counts.values()) / (data.length / 4) };
    })()`)) as { colours: number; dominantShare: number };
    return { path, ...stats };
  } finally {
    await probe.close();
  }
}
