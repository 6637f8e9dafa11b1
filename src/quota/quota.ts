// Per-organisation, per-region storage quotas (a CoreWeave/Ceph feature: AWS has none). Usage
// counts stored object bytes plus unfinished multipart parts and is updated in the transaction
// that commits the bytes (RegionStore), so it cannot drift. A write is refused with 403
// QuotaExceeded before its body is read when its declared length would cross the limit, stopped
// as soon as an undeclared body crosses it, and checked once more inside the commit transaction
// so that concurrent uploads racing for the last bytes cannot overshoot.
import { S3Error } from '../errors.ts';
import type { RegionStore, UsageProbe } from '../store/region-store.ts';

/** Within this many bytes of the limit a commit's quota check is exact across nodes. */
export function nearLimitMargin(limit: number): number {
  return Math.max(Math.floor(limit / 10), 1024 ** 3);
}

export async function quotaLimit(store: RegionStore, org: string, defaultBytes: number): Promise<number> {
  return (await store.quotaOf(org)) ?? defaultBytes;
}

function exceeded(limit: number): S3Error {
  return new S3Error('QuotaExceeded', `Quota exceeded: the organisation's storage quota in this region is ${limit} bytes.`);
}

export interface QuotaGuard {
  /** before the body is read: the declared length, if any */
  beforeRead(declaredLength: number | undefined): void;
  /** while the body streams: the bytes received so far */
  onProgress(bytesSoFar: number): void;
  /** inside the commit transaction: the size being replaced, the new size, and the owner's usage */
  atCommit(replacedBytes: number, newBytes: number, usage: UsageProbe): Promise<void>;
}

/**
 * A guard for one write of `org`'s bytes that replaces `replacedBytes` (the old object or part
 * being overwritten, credited back).
 */
export async function quotaGuard(store: RegionStore, org: string, defaultBytes: number, replacedBytes: number): Promise<QuotaGuard> {
  const limit = await quotaLimit(store, org, defaultBytes);
  const usedAtStart = (await store.usageOf(org)).bytes;
  const fits = (used: number, replaced: number, added: number) => used - replaced + added <= limit;
  return {
    beforeRead(declared) {
      if (declared !== undefined && !fits(usedAtStart, replacedBytes, declared)) throw exceeded(limit);
    },
    onProgress(bytesSoFar) {
      if (!fits(usedAtStart, replacedBytes, bytesSoFar)) throw exceeded(limit);
    },
    async atCommit(replaced, added, usage) {
      let used = await usage.read();
      // Near the limit, commits of one organisation take turns (on PostgreSQL other nodes'
      // commits may be in flight, unseen by the read above), so the last bytes go to exactly
      // one of them; far from it they run side by side and no counter row becomes a hot spot.
      if (!fits(used, replaced, added + nearLimitMargin(limit))) used = await usage.readLocked();
      if (!fits(used, replaced, added)) throw exceeded(limit);
    },
  };
}

/** Parse a size such as 30TB, 30TiB, 500GB, 1048576 (decimal units are powers of 10, binary ones of 2). */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a size (examples: 1048576, 500GB, 30TiB)`);
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '');
  const powers: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40, pi: 2 ** 50 };
  const factor = powers[unit];
  if (factor === undefined) throw new Error(`unknown unit in "${text}"`);
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`"${text}" is out of range`);
  return bytes;
}
