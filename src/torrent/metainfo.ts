// BitTorrent metainfo for one object: SHA-1 hashes of fixed-size pieces of its bytes, and a web
// seed (BEP 19 `url-list`) that points at the object's own URL, so a client downloads the pieces
// from Strata with ranged GETs and needs no tracker or peer.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { bencode } from './bencode.ts';

/** Pieces are at least 256 KiB, and larger for large objects so a file holds at most ~1024 hashes. */
export function pieceLengthFor(size: number): number {
  let length = 256 * 1024;
  while (size / length > 1024) length *= 2;
  return length;
}

/** The concatenated 20-byte SHA-1 of each `pieceLength` run of the stream (the last one shorter). */
export async function hashPieces(body: Readable, pieceLength: number): Promise<Buffer> {
  const hashes: Buffer[] = [];
  let piece: Hash | undefined;
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; ) {
      piece ??= createHash('sha1');
      const take = Math.min(pieceLength - filled, chunk.length - at);
      piece.update(chunk.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === pieceLength) {
        hashes.push(piece.digest());
        piece = undefined;
        filled = 0;
      }
    }
  }
  if (piece) hashes.push(piece.digest());
  return Buffer.concat(hashes);
}

export interface MetainfoInput {
  /** the file name a client saves the bytes under */
  name: string;
  length: number;
  pieceLength: number;
  pieces: Buffer;
  webSeed: string;
  createdAt: Date;
}

export function buildMetainfo(input: MetainfoInput): Buffer {
  return bencode({
    'created by': 'Strata',
    'creation date': Math.floor(input.createdAt.getTime() / 1000),
    info: { length: input.length, name: input.name, 'piece length': input.pieceLength, pieces: input.pieces },
    'url-list': [input.webSeed],
  });
}
