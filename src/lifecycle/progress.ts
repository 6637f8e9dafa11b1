// Where an unfinished lifecycle pass over a bucket stands, kept in the bucket's config
// (BucketConfig.lifecycleProgress) after each page, so that a pass resumes after a crash or a
// restart. Plain JSON: it is stored as part of the buckets.config column on either engine.

/** What the pass knows of the key it stopped inside (the key's entries run on into the next page). */
export interface KeyState {
  name: string;
  /** last-modified time of the newest entry seen: when the next (older) one became noncurrent */
  successorModified?: number;
  /** noncurrent versions of the key seen so far (all newer than the next one) */
  newerNoncurrent: number;
  /** every noncurrent entry seen so far was removed */
  allRemoved: boolean;
  /** the key's latest entry, when it is a delete marker */
  latestMarker?: { versionId: string; seq: number; modified: number };
}

export interface LifecycleProgress {
  startedAt: number;
  /** versions and markers in key order first, then unfinished multipart uploads */
  phase: 'versions' | 'uploads';
  /** versions: after this key (and afterSeq within it); uploads: after this key and uploadIdMarker */
  keyMarker: string;
  afterSeq?: number;
  key?: KeyState;
  uploadIdMarker?: string;
}
