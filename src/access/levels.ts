// Access levels of keys (the seed's read / write / readwrite / full) against what an
// operation needs. See ../shared/reference/s3-semantics.md §4 for the matrix.
import type { AccessLevel } from '../identity/identity-store.ts';

/**
 * What a key's access level must include for the owning organisation to perform the operation
 * without a policy: 'any' (every level), 'read', 'write', 'readwrite' (copy: read the source,
 * write the destination) or 'full' (bucket administration, ACLs, policies).
 */
export type LevelNeed = 'any' | 'read' | 'write' | 'readwrite' | 'full';

const grants: Record<AccessLevel, ReadonlySet<LevelNeed>> = {
  read: new Set(['any', 'read']),
  write: new Set(['any', 'write']),
  readwrite: new Set(['any', 'read', 'write', 'readwrite']),
  full: new Set(['any', 'read', 'write', 'readwrite', 'full']),
};

export function levelAllows(level: AccessLevel, need: LevelNeed): boolean {
  return grants[level].has(need);
}
