// Which Host names are static website endpoints. The pattern (config websiteHostPattern) names
// the bucket first, then the region, with literal labels around them, as AWS's
// <bucket>.s3-website.<region>.amazonaws.com (or its older <bucket>.s3-website-<region>...);
// {baseDomain} stands for the configured base domain. Pure: no I/O.
import { stripPort } from '../addressing.ts';

export interface WebsiteHost {
  bucket: string;
  region: string;
}

const placeholders = ['{bucket}', '{region}', '{baseDomain}'] as const;

/** Why a pattern cannot be used (undefined when it can). '' is allowed: website hosting off. */
export function websiteHostPatternProblem(pattern: string): string | undefined {
  if (pattern === '') return undefined;
  if (!pattern.startsWith('{bucket}.')) return 'must start with "{bucket}." (bucket names may contain dots, so the bucket comes first)';
  const count = (p: string) => pattern.split(p).length - 1;
  if (count('{bucket}') !== 1 || count('{region}') !== 1) return 'must contain {bucket} and {region} exactly once';
  if (count('{baseDomain}') > 1) return 'may contain {baseDomain} at most once';
  const literal = placeholders.reduce((s, p) => s.split(p).join(''), pattern);
  if (!/^[a-z0-9.-]*$/i.test(literal)) return 'may contain only letters, digits, dots, dashes and the placeholders';
  // The regional API's own virtual hosts must stay theirs.
  if (/^\{bucket\}\.(accel-)?object\.\{region\}/.test(pattern)) return 'would take the host names of the S3 API endpoints';
  return undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A pattern compiled once: a cheap literal pre-check, then the anchored expression. */
interface HostMatcher {
  pattern: string;
  baseDomain: string;
  /** The literal text right after {bucket} (".s3-website." by default), lower case. */
  literal: string;
  expression: RegExp;
}

function compile(pattern: string, baseDomain: string): HostMatcher | null {
  if (pattern === '') return null;
  const parts = pattern.toLowerCase().split(/(\{bucket\}|\{region\}|\{basedomain\})/);
  const source = parts
    .map((part) => {
      if (part === '{bucket}') return '(?<bucket>.+)';
      if (part === '{region}') return '(?<region>[a-z0-9-]+)';
      if (part === '{basedomain}') return escapeRegExp(baseDomain.toLowerCase());
      return escapeRegExp(part);
    })
    .join('');
  // parts[0] is '' and parts[1] '{bucket}' (the pattern starts with "{bucket}."), so parts[2] is
  // the literal after it: never empty, it holds at least the dot.
  return { pattern, baseDomain, literal: parts[2], expression: new RegExp(`^${source}$`) };
}

/** The compiled pattern of each configuration (compiled again only if its pattern changes). */
const matchers = new WeakMap<object, HostMatcher | null>();

interface WebsiteHostConfig {
  websiteHostPattern: string;
  baseDomain: string;
}

function matcherFor(config: WebsiteHostConfig): HostMatcher | null {
  let m = matchers.get(config);
  if (m === undefined || (m !== null && (m.pattern !== config.websiteHostPattern || m.baseDomain !== config.baseDomain)) || (m === null && config.websiteHostPattern !== '')) {
    m = compile(config.websiteHostPattern, config.baseDomain);
    matchers.set(config, m);
  }
  return m;
}

/** Compile the configuration's pattern now (at startup), rather than on the first request. */
export function prepareWebsiteHosts(config: WebsiteHostConfig): void {
  matcherFor(config);
}

/**
 * Whether the Host can be a website host: synchronous and cheap, as it runs on every S3
 * request. A host without the pattern's literal (in any case) is not one; a host with it is
 * matched in full by matchWebsiteHost.
 */
export function mayBeWebsiteHost(config: WebsiteHostConfig, hostHeader: string | undefined): boolean {
  const m = matcherFor(config);
  if (!m || !hostHeader) return false;
  return hostHeader.includes(m.literal) || (/[A-Z]/.test(hostHeader) && hostHeader.toLowerCase().includes(m.literal));
}

/** The bucket and region a website Host names, or undefined when the Host is not a website host. */
export function matchWebsiteHost(hostHeader: string | undefined, config: WebsiteHostConfig): WebsiteHost | undefined {
  const m = matcherFor(config);
  if (!m || !hostHeader) return undefined;
  const found = m.expression.exec(stripPort(hostHeader).toLowerCase());
  if (!found?.groups) return undefined;
  return { bucket: found.groups.bucket, region: found.groups.region };
}
