// Bencoding (BEP 3), the encoding of BitTorrent metainfo files: integers, byte strings, lists and
// dictionaries whose keys are byte strings sorted as raw bytes. decode is the strict inverse, for
// reading a metainfo file back (tests, and anyone checking what Strata wrote).

export type Bencoded = number | bigint | string | Buffer | Bencoded[] | { [key: string]: Bencoded };

export function bencode(value: Bencoded): Buffer {
  const out: Buffer[] = [];
  write(value, out);
  return Buffer.concat(out);
}

function write(value: Bencoded, out: Buffer[]): void {
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`bencode: ${value} is not an integer`);
    out.push(Buffer.from(`i${value}e`));
  } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    out.push(Buffer.from(`${bytes.length}:`), bytes);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l'));
    for (const item of value) write(item, out);
    out.push(Buffer.from('e'));
  } else {
    out.push(Buffer.from('d'));
    const keys = Object.keys(value).map((k) => Buffer.from(k, 'utf8')).sort(Buffer.compare);
    for (const key of keys) {
      write(key, out);
      write(value[key.toString('utf8')], out);
    }
    out.push(Buffer.from('e'));
  }
}

/** Decodes one bencoded value that fills `data` exactly; byte strings come back as Buffers. */
export function bdecode(data: Buffer): Bencoded {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`bdecode: ${why} at byte ${at}`);
  };
  const digitsUntil = (end: number): string => {
    const stop = data.indexOf(end, at);
    if (stop < 0) fail('unterminated number');
    const text = data.subarray(at, stop).toString('latin1');
    at = stop + 1;
    return text;
  };
  const read = (): Bencoded => {
    const c = data[at];
    if (c === 0x69 /* i */) {
      at++;
      const text = digitsUntil(0x65);
      if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail('bad integer');
      const n = BigInt(text);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    if (c === 0x6c /* l */) {
      at++;
      const list: Bencoded[] = [];
      while (data[at] !== 0x65) {
        if (at >= data.length) fail('unterminated list');
        list.push(read());
      }
      at++;
      return list;
    }
    if (c === 0x64 /* d */) {
      at++;
      const dict: Record<string, Bencoded> = {};
      while (data[at] !== 0x65) {
        if (at >= data.length) fail('unterminated dictionary');
        const key = read();
        if (!Buffer.isBuffer(key)) fail('dictionary key is not a string');
        dict[(key as Buffer).toString('utf8')] = read();
      }
      at++;
      return dict;
    }
    if (c !== undefined && c >= 0x30 && c <= 0x39) {
      const text = digitsUntil(0x3a);
      if (!/^(0|[1-9][0-9]*)$/.test(text)) fail('bad string length');
      const end = at + Number(text);
      if (end > data.length) fail('string runs past the end');
      const bytes = data.subarray(at, end);
      at = end;
      return Buffer.from(bytes);
    }
    return fail('unexpected byte');
  };
  const value = read();
  if (at !== data.length) fail('trailing bytes');
  return value;
}
