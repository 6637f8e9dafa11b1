// S3 orders keys by their UTF-8 bytes, as SQLite compares TEXT; JavaScript compares UTF-16 code units.

/** Compare as SQLite does (UTF-8 bytes), not as JavaScript does (UTF-16 code units). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function maxUtf8(a: string, b: string): string {
  return compareUtf8(a, b) >= 0 ? a : b;
}

/** Smallest string greater than every string that starts with `prefix` (UTF-8 byte order). */
export function prefixSuccessor(prefix: string): string | undefined {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const last = chars.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      let next = last + 1;
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // skip surrogates: not valid in UTF-8
      return chars.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

