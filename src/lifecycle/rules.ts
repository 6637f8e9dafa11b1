// Lifecycle rules as Strata stores them (BucketConfig.lifecycle) and what they decide: which
// rule applies to an object, version, delete marker or upload, and when it expires. Pure: no
// store, no HTTP. The configuration document's parsing is in document.ts, the worker that acts
// on these decisions in worker.ts.

/** A rule's filter, kept in the form it was given so that GetBucketLifecycleConfiguration returns it. */
export interface LifecycleFilter {
  prefix?: string;
  tag?: [string, string];
  sizeGreaterThan?: number;
  sizeLessThan?: number;
  and?: { prefix?: string; tags: [string, string][]; sizeGreaterThan?: number; sizeLessThan?: number };
}

export interface LifecycleRule {
  id: string;
  status: 'Enabled' | 'Disabled';
  /** the legacy rule-level Prefix element (absent when the rule has a Filter) */
  prefix?: string;
  filter?: LifecycleFilter;
  expiration?: { days?: number; date?: string; expiredObjectDeleteMarker?: boolean };
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

export interface LifecycleConfiguration {
  rules: LifecycleRule[];
}

/** What a rule is matched against: a version's key, size and tags. */
export interface LifecycleSubject {
  key: string;
  size: number;
  tags: [string, string][];
}

export const REAL_DAY_MS = 86_400_000;

/** The predicates a rule's filter puts together, all of which must hold (see document.ts on several in one Filter). */
function predicates(rule: LifecycleRule): { prefixes: string[]; tags: [string, string][]; gt?: number; lt?: number } {
  const f = rule.filter;
  if (!f) return { prefixes: [rule.prefix ?? ''], tags: [] };
  const prefixes = [f.prefix, f.and?.prefix].filter((p): p is string => p !== undefined);
  const tags = [...(f.tag ? [f.tag] : []), ...(f.and?.tags ?? [])];
  const gts = [f.sizeGreaterThan, f.and?.sizeGreaterThan].filter((n): n is number => n !== undefined);
  const lts = [f.sizeLessThan, f.and?.sizeLessThan].filter((n): n is number => n !== undefined);
  return { prefixes, tags, gt: gts.length ? Math.max(...gts) : undefined, lt: lts.length ? Math.min(...lts) : undefined };
}

export function ruleMatches(rule: LifecycleRule, subject: LifecycleSubject): boolean {
  if (rule.status !== 'Enabled') return false;
  const p = predicates(rule);
  if (!p.prefixes.every((prefix) => subject.key.startsWith(prefix))) return false;
  if (p.gt !== undefined && !(subject.size > p.gt)) return false;
  if (p.lt !== undefined && !(subject.size < p.lt)) return false;
  return p.tags.every(([k, v]) => subject.tags.some(([tk, tv]) => tk === k && tv === v));
}

/** Delete markers have no tags and no size: only rules without tags reach them, by prefix alone. */
function ruleMatchesMarker(rule: LifecycleRule, key: string): boolean {
  if (rule.status !== 'Enabled') return false;
  const p = predicates(rule);
  return p.tags.length === 0 && p.prefixes.every((prefix) => key.startsWith(prefix));
}

/**
 * When something `days` days after `since` expires. With the real day, as AWS: the time plus
 * the days, rounded up to the next midnight UTC. A shortened test day (lifecycleDaySeconds, as
 * Ceph's rgw_lc_debug_interval) counts from the time itself, without rounding.
 */
export function expiryAfter(since: number, days: number, dayMs: number): number {
  const at = since + days * dayMs;
  return dayMs === REAL_DAY_MS ? Math.ceil(at / REAL_DAY_MS) * REAL_DAY_MS : at;
}

export interface Expiry {
  at: number;
  ruleId: string;
}

/** The earliest expiration the rules give the current version `subject` last modified at `modified`. */
export function currentExpiry(config: LifecycleConfiguration | undefined, subject: LifecycleSubject, modified: number, dayMs: number): Expiry | undefined {
  let best: Expiry | undefined;
  for (const rule of config?.rules ?? []) {
    const e = rule.expiration;
    if (!e || (e.days === undefined && e.date === undefined) || !ruleMatches(rule, subject)) continue;
    const at = e.date !== undefined ? Date.parse(e.date) : expiryAfter(modified, e.days!, dayMs);
    if (!best || at < best.at) best = { at, ruleId: rule.id };
  }
  return best;
}

/**
 * Whether a noncurrent version expires now: noncurrent since `noncurrentSince` (when its
 * successor was written), with `newerNoncurrent` noncurrent versions of its key newer than it.
 */
export function noncurrentExpires(config: LifecycleConfiguration, subject: LifecycleSubject, noncurrentSince: number, newerNoncurrent: number, now: number, dayMs: number): boolean {
  return config.rules.some((rule) => {
    const n = rule.noncurrentVersionExpiration;
    if (!n || !ruleMatches(rule, subject)) return false;
    if (n.newerNoncurrentVersions !== undefined && newerNoncurrent < n.newerNoncurrentVersions) return false;
    return expiryAfter(noncurrentSince, n.noncurrentDays, dayMs) <= now;
  });
}

/** A noncurrent delete marker: expired by NoncurrentVersionExpiration like a version, tags aside. */
export function noncurrentMarkerExpires(config: LifecycleConfiguration, key: string, noncurrentSince: number, now: number, dayMs: number): boolean {
  return config.rules.some((rule) => {
    const n = rule.noncurrentVersionExpiration;
    return n !== undefined && n.newerNoncurrentVersions === undefined && ruleMatchesMarker(rule, key) && expiryAfter(noncurrentSince, n.noncurrentDays, dayMs) <= now;
  });
}

/**
 * Whether a delete marker that is its key's only remaining version (an "expired object delete
 * marker") goes: at once under ExpiredObjectDeleteMarker, or once as old as an Expiration's
 * Days (or past its Date), as AWS and Ceph remove them.
 */
export function soleMarkerExpires(config: LifecycleConfiguration, key: string, markerModified: number, now: number, dayMs: number): boolean {
  return config.rules.some((rule) => {
    const e = rule.expiration;
    if (!e || !ruleMatchesMarker(rule, key)) return false;
    if (e.expiredObjectDeleteMarker) return true;
    if (e.date !== undefined) return Date.parse(e.date) <= now;
    return e.days !== undefined && expiryAfter(markerModified, e.days, dayMs) <= now;
  });
}

/** Whether an unfinished multipart upload of `key` initiated at `initiated` is aborted now. */
export function uploadExpires(config: LifecycleConfiguration, key: string, initiated: number, now: number, dayMs: number): boolean {
  return config.rules.some((rule) => {
    const a = rule.abortIncompleteMultipartUpload;
    // Tag filters are refused with this action; size filters cannot apply to an unfinished upload.
    return a !== undefined && ruleMatchesMarker(rule, key) && expiryAfter(initiated, a.daysAfterInitiation, dayMs) <= now;
  });
}

/** Whether any enabled rule could act at all (a bucket whose rules are all disabled is skipped). */
export function hasEnabledRules(config: LifecycleConfiguration | undefined): config is LifecycleConfiguration {
  return config !== undefined && config.rules.some((r) => r.status === 'Enabled');
}

/**
 * The longest prefix every enabled rule's objects share: a pass reads only keys under it (a
 * bucket of millions whose one rule names logs/ is not read whole). '' when any rule is unscoped.
 */
export function scanPrefix(config: LifecycleConfiguration): string {
  const prefixes = config.rules.filter((r) => r.status === 'Enabled').map((r) => predicates(r).prefixes.reduce((a, b) => (b.length > a.length ? b : a), ''));
  if (prefixes.length === 0) return '';
  let common = prefixes[0];
  for (const p of prefixes.slice(1)) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return common;
}
