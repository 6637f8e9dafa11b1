// Access levels of keys (the seed's read / write / readwrite / full) against what an
// operation needs. See ../shared/reference/s3-semantics.md §4 for the matrix.
import type { AccessLevel } from '../identity/identity-store.ts';
import type { LevelNeed } from '../http/operation.ts';

const grants: Record<AccessLevel, ReadonlySet<LevelNeed>> = {
  read: new Set(['any', 'read']),
  write: new Set(['any', 'write']),
  readwrite: new Set(['any', 'read', 'write', 'readwrite']),
  full: new Set(['any', 'read', 'write', 'readwrite', 'full']),
};

export function levelAllows(level: AccessLevel, need: LevelNeed): boolean {
  return grants[level].has(need);
}
