// Multipart uploads of one region: the upload and part rows, their usage, and Complete, which
// turns chosen parts into an object without copying bytes. Parts commit under a shared lock on
// their upload row, Complete and Abort under an exclusive one, so that on PostgreSQL a part
// cannot land in an upload that another node is completing or aborting.
import type { BlobStore } from './blobs.ts';
import type { MetaTx, RegionMetadata } from './meta/metadata.ts';
import { toPart, toUpload } from './object-rows.ts';
import { checkPrecondition, installCurrent, lockVersioning, type ObjectPrecondition } from './object-history.ts';
import { prefixSuccessor } from './key-order.ts';
import { usageProbe, type UsageProbe } from './usage-probe.ts';
import type { ObjectRecord, PartRecord, UploadRecord } from './types.ts';
import { S3Error } from '../errors.ts';
import type { ChangeHook, ChangeOrigin } from './change-hook.ts';

function noSuchUpload(uploadId: string): S3Error {
  return new S3Error('NoSuchUpload', undefined, { UploadId: uploadId });
}

export class RegionUploads {
  constructor(
    private readonly meta: RegionMetadata,
    private readonly blobs: BlobStore,
    /** unlink blobs released by a committed transaction */
    private readonly reap: (blobIds: string[]) => void,
    /** RegionStore's change hook (a completed upload is a new version) */
    private readonly changed: ChangeHook,
  ) {}

  async create(u: UploadRecord): Promise<void> {
    await this.meta.transaction(async (tx) => {
      if (!(await tx.lockBucket(u.bucket, 'share'))) throw new S3Error('NoSuchBucket', undefined, { BucketName: u.bucket });
      await tx.insertUpload({
        upload_id: u.uploadId,
        bucket: u.bucket,
        key: u.key,
        initiated: u.initiated,
        owner_org: u.ownerOrg,
        initiator: u.initiator,
        meta: JSON.stringify(u.meta),
        sse: u.sse,
      });
    });
  }

  async get(uploadId: string): Promise<UploadRecord | undefined> {
    const row = await this.meta.read.upload(uploadId);
    return row ? toUpload(row) : undefined;
  }

  async part(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    const row = await this.meta.read.part(uploadId, partNumber);
    return row ? toPart(row) : undefined;
  }

  async listParts(uploadId: string, afterPart: number, limit: number): Promise<PartRecord[]> {
    return (await this.meta.read.parts(uploadId, afterPart, limit)).map(toPart);
  }

  async allParts(uploadId: string): Promise<PartRecord[]> {
    return (await this.meta.read.allParts(uploadId)).map(toPart);
  }

  /**
   * Record a part, replacing an earlier upload of the same number: the part committed last
   * wins, as on AWS. Usage counts parts too. `check` runs inside the transaction with the part
   * it replaces and the owner's usage (quota); it may throw to abort.
   */
  async commitPart(part: PartRecord, ownerOrg: string, check?: (previous: PartRecord | undefined, usage: UsageProbe) => void | Promise<void>): Promise<void> {
    const released = await this.meta.transaction(async (tx) => {
      if (!(await tx.lockUpload(part.uploadId, 'share'))) throw noSuchUpload(part.uploadId);
      const prev = await tx.part(part.uploadId, part.partNumber);
      if (check) await check(prev ? toPart(prev) : undefined, usageProbe(tx, ownerOrg));
      await this.blobs.persistInline(tx, part.blob);
      await tx.putPart({
        upload_id: part.uploadId,
        part_number: part.partNumber,
        size: part.size,
        stored_size: part.storedSize,
        etag: part.etag,
        last_modified: part.lastModified,
        blob: part.blob,
        checksum: part.checksum,
        sse: part.sse,
      });
      const blobs: string[] = [];
      if (prev && prev.blob !== part.blob) {
        blobs.push(prev.blob);
        await tx.addDeadBlob(prev.blob);
      }
      await tx.addUsage(ownerOrg, part.size - (prev?.size ?? 0), 0);
      return blobs;
    });
    this.blobs.committedInline(part.blob);
    this.reap(released);
  }

  /** Remove an upload's rows inside a transaction; returns the blobs to release. */
  async drop(tx: MetaTx, uploadId: string, ownerOrg: string): Promise<string[]> {
    const parts = await tx.allParts(uploadId);
    const bytes = parts.reduce((n, p) => n + p.size, 0);
    for (const p of parts) await tx.addDeadBlob(p.blob);
    await tx.deleteParts(uploadId);
    await tx.deleteUpload(uploadId);
    if (bytes) await tx.addUsage(ownerOrg, -bytes, 0);
    return parts.map((p) => p.blob);
  }

  async abort(uploadId: string): Promise<void> {
    const released = await this.meta.transaction(async (tx) => {
      const upload = await tx.lockUpload(uploadId, 'exclusive');
      if (!upload) throw noSuchUpload(uploadId);
      return this.drop(tx, uploadId, upload.owner_org);
    });
    this.reap(released);
  }

  /**
   * Complete an upload: the object's manifest references the chosen parts' blobs (no bytes are
   * copied); parts not chosen are released. `build` validates and assembles the record inside
   * the transaction, from the parts as they are at commit time.
   */
  async complete(uploadId: string, build: (upload: UploadRecord, parts: Map<number, PartRecord>) => ObjectRecord, precondition: ObjectPrecondition = {}, origin?: ChangeOrigin): Promise<ObjectRecord> {
    const { record, released } = await this.meta.transaction(async (tx) => {
      const uploadRow = await tx.lockUpload(uploadId, 'exclusive');
      if (!uploadRow) throw noSuchUpload(uploadId);
      const upload = toUpload(uploadRow);
      const parts = new Map((await tx.allParts(uploadId)).map((r) => [r.part_number, toPart(r)]));
      const rec = build(upload, parts);
      const status = await lockVersioning(tx, rec.bucket);
      const prevRow = await tx.lockKey(rec.bucket, rec.key);
      checkPrecondition(precondition, prevRow);
      const used = new Set(rec.manifest?.map((p) => p.blob));
      const partBytes = [...parts.values()].reduce((n, p) => n + p.size, 0);
      const unused = [...parts.values()].map((p) => p.blob).filter((b) => !used.has(b));
      for (const b of unused) await tx.addDeadBlob(b);
      const blobs = [...unused, ...(await installCurrent(tx, rec, prevRow, status))];
      await tx.deleteParts(uploadId);
      await tx.deleteUpload(uploadId);
      // The parts' bytes were already counted; only the unused parts go (the object's size is counted anew).
      await tx.addUsage(upload.ownerOrg, rec.size - partBytes, 1);
      await this.changed(tx, { type: 'created', record: rec }, origin);
      return { record: rec, released: blobs };
    });
    this.reap(released);
    return record;
  }

  /** Unfinished uploads in (key, upload id) order, after the given markers. */
  list(bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, limit: number): Promise<UploadRecord[]> {
    const upper = prefixSuccessor(prefix) ?? '\u{10ffff}\u{10ffff}';
    return this.meta.read.uploadsPage(bucket, keyMarker, uploadIdMarker, prefix, upper, limit).then((rows) => rows.map(toUpload));
  }
}
