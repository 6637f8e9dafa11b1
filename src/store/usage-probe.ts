// What a quota check inside a commit's transaction may ask of the store (see quota/quota.ts).
import type { MetaTx } from './meta/metadata.ts';

/**
 * The owner's usage as a commit's transaction sees it. With concurrent writers (PostgreSQL) a
 * plain read misses transactions still in flight; the locked read waits for the owner's other
 * checked commits to finish first, so that a quota check near the limit is exact.
 */
export interface UsageProbe {
  read(): Promise<number>;
  readLocked(): Promise<number>;
}

/** The usage of `org` inside transaction `tx`. */
export function usageProbe(tx: MetaTx, org: string): UsageProbe {
  return {
    read: async () => (await tx.usage(org))?.bytes ?? 0,
    readLocked: async () => {
      await tx.lockUsage(org);
      return (await tx.usage(org))?.bytes ?? 0;
    },
  };
}
