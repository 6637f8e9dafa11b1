// XML rendering (escaping, repeated elements, attributes) and request-document parsing limits.
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { renderError } from '../../src/http/reply.ts';
import { escapeXml, parseXml, renderXml, textOf } from '../../src/xml/xml.ts';

describe('renderXml', () => {
  it('escapes text and renders arrays as repeated elements', () => {
    const xml = renderXml('ListBucketResult', { Name: 'b', Contents: [{ Key: 'a<b>&"c"' }, { Key: "d'e" }], Skip: undefined, Empty: [] });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Contents><Key>a&lt;b&gt;&amp;"c"</Key></Contents><Contents><Key>d\'e</Key></Contents></ListBucketResult>',
    );
  });

  it('renders attributes and drops characters XML cannot carry', () => {
    const xml = renderXml('R', { Grantee: { '@xsi:type': 'Group', URI: 'u' }, Key: 'a\u0001b\rc' }, {});
    expect(xml).toContain('<Grantee xsi:type="Group"><URI>u</URI></Grantee>');
    expect(xml).toContain('<Key>ab&#13;c</Key>');
    expect(escapeXml('"\'')).toBe('&quot;&apos;');
  });

  it('renders an S3 error with Code, Message, Resource and RequestId', () => {
    const xml = renderError(new S3Error('NoSuchKey', undefined, { Key: 'k' }), '/b/k', 'REQ1');
    expect(xml).toContain('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key><Resource>/b/k</Resource><RequestId>REQ1</RequestId>');
  });
});

describe('parseXml', () => {
  it('parses documents with namespaces and entities, keeping values as strings', () => {
    const doc = parseXml('<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>&#34;0123&amp;x&#34;</Key></Object><Quiet>true</Quiet></Delete>', { arrays: ['Object'] });
    const del = doc.Delete as Record<string, unknown>;
    expect(textOf((del.Object as Record<string, unknown>[])[0].Key)).toBe('"0123&x"');
    expect(textOf(del.Quiet)).toBe('true');
  });

  it('refuses malformed documents and DTDs (no entity expansion)', () => {
    for (const bad of ['', '<a>', '<a></b>', 'not xml', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>']) {
      expect(() => parseXml(bad), bad).toThrow(S3Error);
    }
    try {
      parseXml('<a>', { errorCode: 'MalformedACLError' });
    } catch (err) {
      expect((err as S3Error).code).toBe('MalformedACLError');
    }
  });
});
