// First stage of every request: which region and endpoint the Host names, which addressing
// style is used, and which bucket and key the path names. Pure: no I/O.
import { S3Error } from './errors.ts';

export type EndpointKind = 'api' | 'accel';

export interface HostTarget {
  region: string;
  endpoint: EndpointKind;
  /** bucket named by a virtual-hosted-style Host, if any */
  virtualBucket?: string;
}

export interface ResolvedRequest extends HostTarget {
  style: 'path' | 'virtual';
  bucket?: string;
  key?: string;
  /** decoded query parameters; a parameter given without '=' has the value '' */
  query: Map<string, string>;
}

/**
 * Host names: object.<region>.<base>, <bucket>.object.<region>.<base>,
 * accel-object.<region>.<base>, <bucket>.accel-object.<region>.<base>, and <bucket>.<base>
 * for the default region. Anything else (an IP address, the bare base domain) is the default
 * region, path style.
 */
export function resolveHost(hostHeader: string | undefined, regions: readonly string[], defaultRegion: string, baseDomain: string): HostTarget {
  const host = stripPort(hostHeader ?? '').toLowerCase();
  const suffix = '.' + baseDomain;
  if (host.endsWith(suffix)) {
    const labels = host.slice(0, -suffix.length);
    for (const region of regions) {
      for (const [service, endpoint] of [['object', 'api'], ['accel-object', 'accel']] as const) {
        const name = `${service}.${region}`;
        if (labels === name) return { region, endpoint };
        if (labels.endsWith('.' + name)) return { region, endpoint, virtualBucket: labels.slice(0, -name.length - 1) };
      }
    }
    // object.<r> / accel-object.<r> naming a region this node does not know: refuse rather than
    // quietly serving (or writing to) the default region.
    const unknown = /(?:^|\.)(?:accel-)?object\.([a-z0-9-]+)$/.exec(labels);
    if (unknown) throw new S3Error('InvalidRequest', `The region "${unknown[1]}" named by the host is not served here.`);
    if (labels.length > 0) return { region: defaultRegion, endpoint: 'api', virtualBucket: labels };
  }
  return { region: defaultRegion, endpoint: 'api' };
}

export function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

function decodeComponent(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
  } catch {
    throw new S3Error('InvalidURI');
  }
}

export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  if (!rawQuery) return query;
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), true);
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

export function resolveRequest(rawUrl: string, target: HostTarget): ResolvedRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI');
  // In a path '+' is a literal plus: only the query string is form-encoded.
  const path = decodeComponent(rawPath, false);
  if (target.virtualBucket !== undefined) {
    const key = path.slice(1);
    return { ...target, style: 'virtual', bucket: target.virtualBucket, key: key === '' ? undefined : key, query };
  }
  const rest = path.slice(1);
  if (rest === '') return { ...target, style: 'path', query };
  const slash = rest.indexOf('/');
  if (slash < 0) return { ...target, style: 'path', bucket: rest, query };
  const key = rest.slice(slash + 1);
  return { ...target, style: 'path', bucket: rest.slice(0, slash), key: key === '' ? undefined : key, query };
}
