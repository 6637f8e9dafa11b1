// Nesting-depth bounds: every JSON and XML document is measured before it is parsed or walked, so
// a deeply nested body is the document's own 400, never a stack overflow (500).
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../src/errors.ts';
import { MAX_DOCUMENT_DEPTH, jsonNestsDeeperThan, xmlNestsDeeperThan } from '../../src/nesting.ts';
import { parsePolicy } from '../../src/policy/parse.ts';
import { parsePostPolicy } from '../../src/ops/post-object/policy.ts';
import { parseXml } from '../../src/xml/xml.ts';
import { YamlError, parseYamlDocuments } from '../../src/identity/yaml.ts';

const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const elements = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);

function s3Error(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(S3Error);
    return e as S3Error;
  }
  throw new Error('did not throw');
}

describe('jsonNestsDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings (escaped quotes included)', () => {
    expect(jsonNestsDeeperThan(arrays(MAX_DOCUMENT_DEPTH))).toBe(false);
    expect(jsonNestsDeeperThan(arrays(MAX_DOCUMENT_DEPTH + 1))).toBe(true);
    expect(jsonNestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(jsonNestsDeeperThan(`{"s":"${'['.repeat(1000)}"}`, 1)).toBe(false);
    expect(jsonNestsDeeperThan(`{"s":"\\"${'{'.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonNestsDeeperThan('[[],[],[]]', 2)).toBe(false);
  });
});

describe('xmlNestsDeeperThan', () => {
  it('counts open elements; self-closing tags, comments, CDATA, declarations and quoted ">" do not nest', () => {
    expect(xmlNestsDeeperThan(elements(MAX_DOCUMENT_DEPTH))).toBe(false);
    expect(xmlNestsDeeperThan(elements(MAX_DOCUMENT_DEPTH + 1))).toBe(true);
    expect(xmlNestsDeeperThan('<?xml version="1.0"?><a><b/><b/><b x="/>"/></a>', 1)).toBe(false);
    expect(xmlNestsDeeperThan(`<a><!-- ${'<b>'.repeat(50)} --><![CDATA[${'<c>'.repeat(50)}]]></a>`, 1)).toBe(false);
    expect(xmlNestsDeeperThan('<a x=">"><b y=\'>\'></b></a>', 1)).toBe(true);
    expect(xmlNestsDeeperThan('<a><b></b><b></b></a>', 2)).toBe(false);
  });
});

describe('documents nested too deep are refused with their own error', () => {
  it('a bucket policy of 11,000 nested arrays (or just past the limit) is MalformedPolicy', () => {
    for (const n of [11_000, MAX_DOCUMENT_DEPTH + 1]) {
      const e = s3Error(() => parsePolicy(`{"Version":"2012-10-17","Statement":${arrays(n)}}`, { bucket: 'b' }));
      expect([e.code, e.status]).toEqual(['MalformedPolicy', 400]);
    }
  });

  it('an S3 XML body nested deeply is MalformedXML (or the code the reader asked for)', () => {
    for (const n of [11_000, 100_000, MAX_DOCUMENT_DEPTH + 1]) {
      expect(s3Error(() => parseXml(`<Delete>${elements(n)}</Delete>`)).code).toBe('MalformedXML');
      expect(s3Error(() => parseXml(`<Tagging>${elements(n)}</Tagging>`, { errorCode: 'InvalidTag' })).code).toBe('InvalidTag');
    }
    // The deepest real document still parses.
    const lifecycle = '<LifecycleConfiguration><Rule><Filter><And><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter></Rule></LifecycleConfiguration>';
    expect(parseXml(lifecycle)).toHaveProperty('LifecycleConfiguration');
  });

  it('a POST policy nested deeply is InvalidPolicyDocument', () => {
    const doc = Buffer.from(`{"expiration":"2099-01-01T00:00:00Z","conditions":${arrays(11_000)}}`).toString('base64');
    expect(s3Error(() => parsePostPolicy(doc)).code).toBe('InvalidPolicyDocument');
  });

  it('a manifest nested deeply (JSON or YAML) is a YamlError naming the limit', () => {
    expect(() => parseYamlDocuments(`{"a":${arrays(11_000)}}`)).toThrow(YamlError);
    const yaml = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + '\n';
    expect(() => parseYamlDocuments(yaml)).toThrow(/nest deeper than 32 levels/);
    const shallow = Array.from({ length: 5 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' v\n';
    expect(parseYamlDocuments(shallow)).toEqual([{ k0: { k1: { k2: { k3: { k4: 'v' } } } } }]);
  });
});
