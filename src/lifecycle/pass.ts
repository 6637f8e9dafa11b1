// One lifecycle pass over one bucket: every version and delete marker in key order (newest
// first within a key), then every unfinished multipart upload, each judged by the bucket's rules
// (rules.ts) and acted on through the store's own delete paths, so that usage, quotas and blob
// collection stay exactly as a client's DELETE would leave them. Each action is one small
// transaction; no transaction spans a page, let alone the bucket. After each page that is not the
// last, the position is saved in the bucket's config (BucketConfig.lifecycleProgress), so a pass
// cut short (a crash, a restart, a shutdown) resumes where it stood, not from the start.
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { S3Error } from '../errors.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { VersionEntry } from '../store/types.ts';
import type { ChangeOrigin } from '../store/change-hook.ts';
import type { KeyState, LifecycleProgress } from './progress.ts';
import {
  currentExpiry,
  hasEnabledRules,
  noncurrentExpires,
  noncurrentMarkerExpires,
  scanPrefix,
  soleMarkerExpires,
  uploadExpires,
  type LifecycleConfiguration,
} from './rules.ts';

/**
 * Deletions the lifecycle worker makes are told apart from requests: notifications say
 * s3:LifecycleExpiration:Delete / DeleteMarkerCreated, with the service as the requester (as AWS).
 */
const lifecycleOrigin: ChangeOrigin = { operation: 'LifecycleExpiration', requestId: '', sourceIp: '', principalId: 'AmazonS3' };

export interface PassOptions {
  /** the length of a lifecycle "day" in milliseconds (shortened for tests) */
  dayMs: number;
  /** versions or uploads read per page */
  pageSize?: number;
  now?: () => number;
  /** called after each page with the entries it examined; false stops the pass there (its position is kept) */
  afterPage?: (examined: number) => boolean | Promise<boolean>;
}

export interface PassStats {
  examined: number;
  /** current versions expired (deleted, or hidden by a delete marker in a versioned bucket) */
  expired: number;
  /** noncurrent versions and delete markers removed */
  versionsRemoved: number;
  uploadsAborted: number;
  /** false when afterPage stopped the pass before its end */
  finished: boolean;
}

const defaultPageSize = 200;

/** Errors that mean "someone changed this meanwhile": the action is skipped, the pass goes on. */
function changedMeanwhile(error: unknown): boolean {
  return error instanceof S3Error && ['PreconditionFailed', 'NoSuchUpload', 'NoSuchKey', 'NoSuchVersion', 'NoSuchBucket'].includes(error.code);
}

class BucketPass {
  readonly stats: PassStats = { examined: 0, expired: 0, versionsRemoved: 0, uploadsAborted: 0, finished: false };
  private config!: LifecycleConfiguration;
  private key: KeyState | undefined;

  constructor(
    private readonly store: RegionStore,
    private readonly bucket: string,
    private readonly options: PassOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The bucket's rules now (they may change during a pass); undefined once there are none to apply. */
  private async rules(): Promise<LifecycleConfiguration | undefined> {
    const config = (await this.store.getBucket(this.bucket))?.config?.lifecycle;
    if (!hasEnabledRules(config)) return undefined;
    this.config = config;
    return config;
  }

  async run(): Promise<PassStats> {
    const record = await this.store.getBucket(this.bucket);
    const saved = record?.config?.lifecycleProgress;
    let progress: LifecycleProgress = saved ?? { startedAt: this.now(), phase: 'versions', keyMarker: '' };
    this.key = progress.key;
    const pageSize = this.options.pageSize ?? defaultPageSize;
    let stored = saved !== undefined;
    while (await this.rules()) {
      let more: boolean;
      let examined: number;
      if (progress.phase === 'versions') {
        const prefix = scanPrefix(this.config);
        const page = await this.store.listVersions(this.bucket, { prefix, delimiter: '', keyMarker: progress.keyMarker, afterSeq: progress.afterSeq, maxKeys: pageSize });
        for (const entry of page.entries) await this.examine(entry);
        examined = page.entries.length;
        const last = page.entries.at(-1);
        if (page.isTruncated && last) {
          progress = { ...progress, keyMarker: last.record.key, afterSeq: last.seq, key: this.key };
        } else {
          await this.finishKey();
          progress = { startedAt: progress.startedAt, phase: 'uploads', keyMarker: '', uploadIdMarker: '' };
        }
        more = true;
      } else {
        const uploads = await this.store.listUploads(this.bucket, scanPrefix(this.config), progress.keyMarker, progress.uploadIdMarker ?? '', pageSize);
        for (const upload of uploads) {
          if (!uploadExpires(this.config, upload.key, upload.initiated, this.now(), this.options.dayMs)) continue;
          if (await this.act(() => this.store.abortUpload(upload.uploadId))) this.stats.uploadsAborted++;
        }
        examined = uploads.length;
        const last = uploads.at(-1);
        more = uploads.length === pageSize && last !== undefined;
        if (more) progress = { ...progress, keyMarker: last!.key, uploadIdMarker: last!.uploadId };
      }
      this.stats.examined += examined;
      if (!more) {
        await this.options.afterPage?.(examined);
        break;
      }
      // Saved only for a bucket that needs more than one page: small buckets cost no extra write.
      await this.saveProgress(progress);
      stored = true;
      if (this.options.afterPage && !(await this.options.afterPage(examined))) return this.stats;
      await yieldToRequests();
    }
    if (stored) await this.saveProgress(undefined);
    this.stats.finished = true;
    return this.stats;
  }

  private async saveProgress(progress: LifecycleProgress | undefined): Promise<void> {
    await this.store.setBucketConfig(this.bucket, (config) => {
      const { lifecycleProgress: _previous, ...rest } = config;
      return progress && config.lifecycle ? { ...rest, lifecycleProgress: progress } : rest;
    });
  }

  /** Run one action; false when what it acted on changed meanwhile (it is then left alone). */
  private async act(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      if (changedMeanwhile(error)) return false;
      throw error;
    }
  }

  /** One version or marker; the entries of a key come newest first, the latest one first of all. */
  private async examine(entry: VersionEntry): Promise<void> {
    const { record } = entry;
    if (this.key?.name !== record.key) {
      await this.finishKey();
      this.key = { name: record.key, newerNoncurrent: 0, allRemoved: true };
    }
    const key = this.key!;
    const now = this.now();
    const dayMs = this.options.dayMs;
    const subject = { key: record.key, size: record.size, tags: record.meta.tags ?? [] };
    if (entry.isLatest) {
      if (entry.isDeleteMarker) {
        key.latestMarker = { versionId: record.versionId ?? 'null', seq: entry.seq, modified: record.lastModified };
      } else {
        const expiry = currentExpiry(this.config, subject, record.lastModified, dayMs);
        // Expiring the current version is a DELETE of the key: a delete marker where versioning is
        // on (the version stays, noncurrent), the object itself where it never was.
        if (expiry && expiry.at <= now && (await this.act(() => this.store.deleteObject(this.bucket, record.key, { precondition: { currentSeq: entry.seq }, origin: lifecycleOrigin })))) {
          this.stats.expired++;
        }
      }
    } else {
      // Noncurrent since its successor (the entry before it) was written.
      const since = key.successorModified ?? record.lastModified;
      const expires = entry.isDeleteMarker
        ? noncurrentMarkerExpires(this.config, record.key, since, now, dayMs)
        : noncurrentExpires(this.config, subject, since, key.newerNoncurrent, now, dayMs);
      if (expires && (await this.act(() => this.store.deleteObject(this.bucket, record.key, { versionId: record.versionId ?? 'null', origin: lifecycleOrigin })))) {
        this.stats.versionsRemoved++;
      } else {
        key.allRemoved = false;
      }
      if (!entry.isDeleteMarker) key.newerNoncurrent++;
    }
    key.successorModified = record.lastModified;
  }

  /**
   * The key's entries are all seen: a delete marker that is now its only version (an expired
   * object delete marker) goes if a rule says so, after checking again that nothing was written
   * to the key meanwhile.
   */
  private async finishKey(): Promise<void> {
    const key = this.key;
    this.key = undefined;
    const marker = key?.latestMarker;
    if (!key || !marker || !key.allRemoved) return;
    if (!soleMarkerExpires(this.config, key.name, marker.modified, this.now(), this.options.dayMs)) return;
    const latest = await this.store.getVersion(this.bucket, key.name);
    if (!latest?.isDeleteMarker || latest.seq !== marker.seq) return;
    if ((await this.store.meta.read.historyWithin(this.bucket, key.name, marker.seq, 1)).length > 0) return;
    if (await this.act(() => this.store.deleteObject(this.bucket, key.name, { versionId: marker.versionId, origin: lifecycleOrigin }))) this.stats.versionsRemoved++;
  }
}

/** Apply the bucket's lifecycle rules once, from where an unfinished pass stood (or the start). */
export function runBucketPass(store: RegionStore, bucket: string, options: PassOptions): Promise<PassStats> {
  return new BucketPass(store, bucket, options).run();
}
