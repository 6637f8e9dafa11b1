// Streaming an object's bytes back: a single blob, or the part blobs of a multipart object in
// order. A range read opens only the blobs it overlaps and seeks inside the first one.
import { Readable } from 'node:stream';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord, PartRef } from '../store/types.ts';

export interface Segment {
  blob: string;
  /** plaintext offset of this segment within the object */
  objectOffset: number;
  size: number;
  part?: PartRef;
}

export function segmentsOf(record: ObjectRecord): Segment[] {
  if (record.blob) return [{ blob: record.blob, objectOffset: 0, size: record.size }];
  const segments: Segment[] = [];
  let offset = 0;
  for (const part of record.manifest ?? []) {
    segments.push({ blob: part.blob, objectOffset: offset, size: part.size, part });
    offset += part.size;
  }
  return segments;
}

/**
 * Open plaintext bytes [start, end] (inclusive) of a segment. The default reads the blob
 * directly; SSE-C objects substitute a decrypting opener.
 */
export type SegmentOpener = (segment: Segment, start: number, end: number) => Readable;

export function plainOpener(store: RegionStore): SegmentOpener {
  return (segment, start, end) => store.blobs.read(segment.blob, start, end);
}

/** Bytes [start, end] (inclusive) of the object; an empty range yields an empty stream. */
export function openObjectRange(record: ObjectRecord, start: number, end: number, open: SegmentOpener): Readable {
  const segments = segmentsOf(record);
  if (end < start) return Readable.from([]);
  if (segments.length === 1) return open(segments[0], start, end);
  async function* concatenate(): AsyncGenerator<Buffer> {
    for (const segment of segments) {
      const segStart = segment.objectOffset;
      const segEnd = segment.objectOffset + segment.size - 1;
      if (segEnd < start || segStart > end || segment.size === 0) continue;
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, segEnd) - segStart;
      for await (const chunk of open(segment, from, to)) yield chunk as Buffer;
    }
  }
  return Readable.from(concatenate(), { objectMode: false });
}
