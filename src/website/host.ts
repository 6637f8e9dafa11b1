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

const compiled = new Map<string, RegExp | null>();

/** The pattern as an anchored expression capturing the bucket and the region (null when off). */
function expressionFor(pattern: string, baseDomain: string): RegExp | null {
  const cacheKey = `${pattern}\n${baseDomain}`;
  let re = compiled.get(cacheKey);
  if (re === undefined) {
    if (pattern === '') {
      re = null;
    } else {
      const source = pattern
        .toLowerCase()
        .split(/(\{bucket\}|\{region\}|\{basedomain\})/)
        .map((part) => {
          if (part === '{bucket}') return '(?<bucket>.+)';
          if (part === '{region}') return '(?<region>[a-z0-9-]+)';
          if (part === '{basedomain}') return escapeRegExp(baseDomain.toLowerCase());
          return escapeRegExp(part);
        })
        .join('');
      re = new RegExp(`^${source}$`);
    }
    compiled.set(cacheKey, re);
  }
  return re;
}

/** The bucket and region a website Host names, or undefined when the Host is not a website host. */
export function matchWebsiteHost(hostHeader: string | undefined, pattern: string, baseDomain: string): WebsiteHost | undefined {
  const re = expressionFor(pattern, baseDomain);
  if (!re || !hostHeader) return undefined;
  const m = re.exec(stripPort(hostHeader).toLowerCase());
  if (!m?.groups) return undefined;
  return { bucket: m.groups.bucket, region: m.groups.region };
}
