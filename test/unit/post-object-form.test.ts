// The streaming multipart/form-data reader of POST Object: fields before `file`, the file as a
// stream ending at its boundary, whatever the chunking; limits; malformed bodies.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { FormReader, formBoundary, PullReader, type FormLimits } from '../../src/ops/post-object/form-data.ts';

const boundary = '----StrataBoundary7MA4YWxkTrZu0gW';

function part(name: string, value: string | Buffer, extra = ''): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')]);
}

function body(parts: Buffer[], close = true): Buffer {
  return Buffer.concat([...parts, Buffer.from(close ? `--${boundary}--\r\n` : '')]);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function source(chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

async function read(chunks: Buffer[], limits?: FormLimits) {
  const reader = new PullReader(source(chunks));
  const form = await new FormReader(reader, boundary, limits).readUntilFile();
  const file = form.file ? { ...form.file, content: await collect(form.file.stream) } : undefined;
  reader.release();
  return { fields: form.fields, file };
}

function splitAt(buf: Buffer, positions: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of positions) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out.filter((b) => b.length > 0);
}

async function rejection(p: Promise<unknown>): Promise<S3Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(S3Error);
  return err as S3Error;
}

describe('formBoundary', () => {
  it('takes the boundary of multipart/form-data, quoted or not', () => {
    expect(formBoundary(`multipart/form-data; boundary=${boundary}`)).toBe(boundary);
    expect(formBoundary(`Multipart/Form-Data; charset=utf-8; boundary="a b:c"`)).toBe('a b:c');
  });
  it('refuses other content types with 412 PreconditionFailed', () => {
    for (const ct of [undefined, 'application/x-www-form-urlencoded', 'multipart/mixed; boundary=x']) {
      const err = (() => {
        try {
          formBoundary(ct);
        } catch (e) {
          return e as S3Error;
        }
      })();
      expect(err?.code).toBe('PreconditionFailed');
      expect(err?.status).toBe(412);
    }
  });
  it('refuses multipart/form-data without a boundary', () => {
    expect(() => formBoundary('multipart/form-data')).toThrowError(/not well-formed/);
  });
});

describe('FormReader', () => {
  const fileContent = Buffer.concat([Buffer.from('line one\r\n--not-the-boundary\r\n'), Buffer.from(`\r\n--${boundary.slice(0, -3)}`), Buffer.alloc(300, 0xab), Buffer.from('\r\n')]);
  const whole = body([
    part('key', 'uploads/${filename}'),
    part('x-amz-meta-note', 'héllo wörld'),
    part('file', fileContent, '; filename="photo.jpg"\r\nContent-Type: image/jpeg'),
    part('after', 'ignored'),
  ]);

  it('reads fields and streams the file', async () => {
    const { fields, file } = await read([whole]);
    expect(fields).toEqual([
      { name: 'key', value: 'uploads/${filename}' },
      { name: 'x-amz-meta-note', value: 'héllo wörld' },
    ]);
    expect(file?.name).toBe('file');
    expect(file?.filename).toBe('photo.jpg');
    expect(file?.contentType).toBe('image/jpeg');
    expect(file?.content.equals(fileContent)).toBe(true);
  });

  it('gives the same result however the body is chunked', async () => {
    const expected = await read([whole]);
    for (let i = 1; i < whole.length; i += 7) {
      const got = await read(splitAt(whole, [i]));
      expect(got.fields).toEqual(expected.fields);
      expect(got.file?.content.equals(fileContent), `split at ${i}`).toBe(true);
    }
    // one byte at a time
    const bytes = [...whole].map((b) => Buffer.from([b]));
    const got = await read(bytes);
    expect(got.fields).toEqual(expected.fields);
    expect(got.file?.content.equals(fileContent)).toBe(true);
  });

  it('handles a preamble, transport padding, an empty file and a field without headers beyond the disposition', async () => {
    const raw = Buffer.concat([
      Buffer.from('This is the preamble.\r\n'),
      Buffer.from(`--${boundary}  \r\nContent-Disposition: form-data; name=key\r\n\r\nk\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="FILE"; filename=""\r\n\r\n\r\n--${boundary}--`),
    ]);
    const { fields, file } = await read([raw]);
    expect(fields).toEqual([{ name: 'key', value: 'k' }]);
    expect(file?.name).toBe('FILE');
    expect(file?.filename).toBe('');
    expect(file?.content.length).toBe(0);
  });

  it('decodes quoted-string escapes and RFC 5987 filenames', async () => {
    const raw = body([part('file', 'x', '; filename="a\\"b.txt"; filename*=UTF-8\'\'%C3%A9t%C3%A9.txt')]);
    const { file } = await read([raw]);
    expect(file?.filename).toBe('été.txt');
    const raw2 = body([part('file', 'x', '; filename="a\\"b.txt"')]);
    expect((await read([raw2])).file?.filename).toBe('a"b.txt');
  });

  it('returns no file when the form has none', async () => {
    const { fields, file } = await read([body([part('key', 'k'), part('acl', 'private')])]);
    expect(fields.map((f) => f.name)).toEqual(['key', 'acl']);
    expect(file).toBeUndefined();
  });

  it('refuses a field larger than the per-field limit', async () => {
    const limits = { maxFieldBytes: 100, maxPreDataBytes: 10_000, maxPartHeaderBytes: 1000 };
    const err = await rejection(read([body([part('key', 'a'.repeat(101)), part('file', 'x')])], limits));
    expect(err.code).toBe('MaxPostPreDataLengthExceededError');
    expect(err.details.MaxPostPreDataLengthBytes).toBe('100');
    // exactly at the limit is fine
    const ok = await read([body([part('key', 'a'.repeat(100)), part('file', 'x')])], limits);
    expect(ok.fields[0].value.length).toBe(100);
  });

  it('refuses fields whose total is larger than the limit', async () => {
    const limits = { maxFieldBytes: 100, maxPreDataBytes: 1000, maxPartHeaderBytes: 1000 };
    const parts = Array.from({ length: 20 }, (_, i) => part(`x-amz-meta-f${i}`, 'v'.repeat(90)));
    const err = await rejection(read([body([...parts, part('file', 'x')])], limits));
    expect(err.code).toBe('MaxPostPreDataLengthExceededError');
  });

  it('does not count the file against the field limits', async () => {
    const limits = { maxFieldBytes: 100, maxPreDataBytes: 1000, maxPartHeaderBytes: 1000 };
    const big = Buffer.alloc(100_000, 7);
    const { file } = await read(splitAt(body([part('key', 'k'), part('file', big)]), [500, 40_000, 70_001]), limits);
    expect(file?.content.equals(big)).toBe(true);
  });

  it('fails the file stream when the body ends inside the file', async () => {
    const raw = Buffer.concat([part('key', 'k'), Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nsome bytes and no boundary`)]);
    const reader = new PullReader(source([raw]));
    const form = await new FormReader(reader, boundary).readUntilFile();
    const err = await rejection(collect(form.file!.stream));
    expect(err.code).toBe('MalformedPOSTRequest');
  });

  it('refuses bodies that are not multipart', async () => {
    expect((await rejection(read([Buffer.from('key=value&file=x')])))).toMatchObject({ code: 'MalformedPOSTRequest' });
    // a part without Content-Disposition
    const noDisposition = Buffer.from(`--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${boundary}--`);
    expect(await rejection(read([noDisposition]))).toMatchObject({ code: 'MalformedPOSTRequest' });
    // the body ends before the closing boundary, among the fields
    expect(await rejection(read([part('key', 'k')]))).toMatchObject({ code: 'MalformedPOSTRequest' });
  });

  it('reports a source that fails', async () => {
    const failing = new Readable({
      read() {
        this.push(part('key', 'k'));
        this.destroy(new Error('socket reset'));
      },
    });
    const reader = new PullReader(failing);
    await expect(new FormReader(reader, boundary).readUntilFile()).rejects.toThrow('socket reset');
  });

  it('stops reading the source at the end of the file part and lets it be drained', async () => {
    const src = source([whole]);
    const reader = new PullReader(src);
    const form = await new FormReader(reader, boundary).readUntilFile();
    await collect(form.file!.stream);
    reader.release();
    expect(src.listenerCount('readable')).toBe(0);
    src.resume();
    await new Promise((resolve) => src.once('end', resolve));
  });
});
