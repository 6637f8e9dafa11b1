// The console's page and its script. The script (src/console/ui, preact) is bundled by esbuild
// the first time a browser asks for it, in memory, from the sources and node_modules on this
// machine: no CDN, no network, nothing written to disk. esbuild is installed with tsx (a runtime
// dependency), so `npm ci --omit=dev` keeps it. The bundle is kept for the process's lifetime.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const entry = fileURLToPath(new URL('./ui/main.tsx', import.meta.url));

let bundling: Promise<{ js: Asset; css: Asset }> | undefined;

function asset(body: Buffer, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` };
}

/** Bundle once; a failed build is retried on the next request rather than cached. */
export function consoleBundle(): Promise<{ js: Asset; css: Asset }> {
  bundling ??= (async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      outdir: '/console-out',
      format: 'esm',
      target: 'es2020',
      minify: true,
      jsx: 'automatic',
      jsxImportSource: 'preact',
      legalComments: 'none',
      logLevel: 'silent',
      loader: { '.css': 'css' },
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
    const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
    if (!js) throw new Error('console bundle produced no script');
    return { js: asset(Buffer.from(js.contents), 'text/javascript; charset=utf-8'), css: asset(Buffer.from(css?.contents ?? ''), 'text/css; charset=utf-8') };
  })();
  bundling.catch(() => (bundling = undefined));
  return bundling;
}

export const indexHtml = Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strata console</title>
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
<div id="app"><noscript>The Strata console needs JavaScript.</noscript></div>
<script type="module" src="/console/app.js"></script>
</body>
</html>
`);

/** The page may load its own script and style and talk to its own origin, nothing else. */
export const pageSecurityHeaders: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
