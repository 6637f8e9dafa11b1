// Bencoding as BEP 3 defines it: dictionary keys sorted as raw bytes, byte strings length-prefixed,
// integers in i…e; decode is strict (no leading zeros, no trailing bytes) and inverts encode.
import { describe, expect, it } from 'vitest';
import { bdecode, bencode } from '../../src/torrent/bencode.ts';

describe('bencode', () => {
  it('writes the forms of BEP 3, with dictionary keys in byte order', () => {
    expect(bencode({ z: 1, a: 'spam', 'piece length': 262144, l: [-3, 'x'] }).toString()).toBe('d1:a4:spam1:lli-3e1:xe12:piece lengthi262144e1:zi1ee');
    expect(bencode(Buffer.from([0, 255])).equals(Buffer.from([0x32, 0x3a, 0, 255]))).toBe(true);
    expect(bencode('é').toString('latin1')).toBe('2:\u00c3\u00a9');
  });

  it('decodes what it encodes, byte strings as Buffers', () => {
    const value = { info: { length: 5, name: 'a.bin', pieces: Buffer.alloc(20, 7) }, 'url-list': ['http://h/b/k'] };
    const back = bdecode(bencode(value)) as { info: { length: number; name: Buffer; pieces: Buffer }; 'url-list': Buffer[] };
    expect(back.info.length).toBe(5);
    expect(back.info.name.toString()).toBe('a.bin');
    expect(back.info.pieces.equals(value.info.pieces)).toBe(true);
    expect(back['url-list'].map(String)).toEqual(['http://h/b/k']);
  });

  it('refuses malformed input', () => {
    for (const bad of ['i01e', 'i-0e', '5:abc', 'li1e', 'd1:ai1e', 'i1ei2e', 'x', '01:a']) expect(() => bdecode(Buffer.from(bad)), bad).toThrow(/bdecode/);
  });
});
