// The operator's endpoints, outside the S3 API:
//   GET /metrics        Prometheus text format. Admin listener: open, or with metricsToken set,
//                       only with "Authorization: Bearer <metricsToken>". S3 listener: only with
//                       that header (a bucket named "metrics" stays reachable by S3 clients, whose
//                       Authorization is SigV4 and never a bearer token).
//   GET /health/live    200 while the process answers.
//   GET /health/ready   200 when ready, 503 with the failing checks otherwise (src/health/readiness.ts).
// On the S3 listener /health/* answers unsigned requests on hosts that name no bucket (so a
// bucket named "health" is still reached by signed requests and on its virtual host), and
// /_strata/health/* always. There the checks are named without their error messages: the
// admin listener tells why.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveHost } from '../addressing.ts';
import { readiness } from '../health/readiness.ts';
import type { Observability } from './observability.ts';

export type Listener = 's3' | 'admin';

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  // Compared as digests: constant time whatever the lengths.
  return m !== null && timingSafeEqual(digest(m[1]), digest(token));
}

function isSigned(raw: IncomingMessage, url: string): boolean {
  return raw.headers.authorization !== undefined || /[?&]X-Amz-(Signature|Credential)=/i.test(url);
}

function namesBucket(obs: Observability, host: string | undefined): boolean {
  const { config } = obs.services;
  try {
    return resolveHost(host, config.regions, config.defaultRegion, config.baseDomain).virtualBucket !== undefined;
  } catch {
    return false;
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string, head: boolean, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(head ? undefined : body);
}

const jsonType = 'application/json; charset=utf-8';

/** Cheap test for the request path: can this URL be an operator endpoint at all? */
export function mayBeOperatorPath(url: string | undefined): boolean {
  if (url === undefined || url.length < 8) return false;
  const c = url.charCodeAt(1);
  return (c === 104 /* h */ && url.startsWith('/health/')) || (c === 109 /* m */ && url.startsWith('/metrics')) || (c === 95 /* _ */ && url.startsWith('/_strata/health/'));
}

/**
 * Answer the request if it is one of the operator's endpoints on this listener; false otherwise
 * (the caller goes on with its own routing).
 */
export async function answerOperatorRequest(obs: Observability, raw: IncomingMessage, res: ServerResponse, listener: Listener): Promise<boolean> {
  const url = raw.url ?? '/';
  let path = pathOf(url);
  const head = raw.method === 'HEAD';
  if (raw.method !== 'GET' && !head) return false;
  const token = obs.services.config.metricsToken;
  if (path === '/metrics') {
    const authorized = token === undefined ? listener === 'admin' : bearerMatches(raw.headers.authorization, token);
    if (!authorized) {
      // S3 clients (SigV4) and anonymous readers of a bucket named "metrics" go on to S3.
      if (listener === 's3') return false;
      reply(res, 401, jsonType, JSON.stringify({ error: { code: 'Unauthorized', message: 'send "Authorization: Bearer <metricsToken>"' } }) + '\n', head, { 'www-authenticate': 'Bearer realm="strata-metrics"' });
      return true;
    }
    const text = await obs.registry.metrics();
    reply(res, 200, obs.registry.contentType, text, head);
    return true;
  }
  if (listener === 's3') {
    if (path.startsWith('/_strata/health/')) path = path.slice('/_strata'.length);
    else if (!path.startsWith('/health/') || isSigned(raw, url) || namesBucket(obs, raw.headers.host)) return false;
  }
  if (path === '/health/live') {
    reply(res, 200, jsonType, JSON.stringify({ status: 'live' }) + '\n', head);
    return true;
  }
  if (path === '/health/ready') {
    // Probes that arrive while one runs share its answer: however many are sent (the S3 port is
    // public), at most one set of checks runs at a time.
    obs.readinessProbe ??= readiness(obs.services, obs.shuttingDown).finally(() => (obs.readinessProbe = undefined));
    const result = await obs.readinessProbe;
    const checks = listener === 'admin' ? result.checks : result.checks.map(({ name, ok }) => ({ name, ok }));
    reply(res, result.ready ? 200 : 503, jsonType, JSON.stringify({ status: result.ready ? 'ready' : 'unready', checks }, null, 2) + '\n', head);
    return true;
  }
  return false;
}
