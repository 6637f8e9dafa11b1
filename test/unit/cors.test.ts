// The pure CORS modules: the document (parse, validate, render) and rule matching.
import { describe, expect, it } from 'vitest';
import { parseCorsConfiguration, renderCorsConfiguration } from '../../src/cors/config.ts';
import { actualResponseHeaders, matchCorsRule, preflightHeaders, requestedHeaders } from '../../src/cors/match.ts';
import { S3Error } from '../../src/errors.ts';
import type { CorsRule } from '../../src/store/types.ts';

const rule = (fields: Partial<CorsRule> = {}): CorsRule => ({ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], ...fields });
const doc = (...inner: string[]) => `<CORSConfiguration>${inner.map((r) => `<CORSRule>${r}</CORSRule>`).join('')}</CORSConfiguration>`;
const minimal = '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  return undefined;
}

describe('parseCorsConfiguration', () => {
  it('reads every element, keeps values as sent, and round-trips through render', () => {
    const body = doc(
      '<ID>r1</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>' +
        '<AllowedHeader>Content-Type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>0042</MaxAgeSeconds>',
      minimal,
    );
    const rules = parseCorsConfiguration(body);
    expect(rules).toEqual([
      { id: 'r1', allowedOrigins: ['https://*.example.com'], allowedMethods: ['PUT', 'GET'], allowedHeaders: ['Content-Type'], exposeHeaders: ['ETag'], maxAgeSeconds: 42 },
      rule(),
    ]);
    expect(parseCorsConfiguration(renderCorsConfiguration(rules))).toEqual(rules);
    // A namespace prefix and an empty ID are fine.
    expect(parseCorsConfiguration(`<s3:CORSConfiguration xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:CORSRule><s3:ID/>${minimal.replaceAll('<A', '<s3:A').replaceAll('</A', '</s3:A')}</s3:CORSRule></s3:CORSConfiguration>`)).toEqual([rule({ id: '' })]);
  });

  it('checks the structure (MalformedXML) before the values (InvalidRequest)', () => {
    expect(codeOf(() => parseCorsConfiguration(doc('<AllowedMethod>PATCH</AllowedMethod>')))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration(doc('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>', minimal + '<Bad/>')))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration(doc(`<AllowedOrigin><x>*</x></AllowedOrigin><AllowedMethod>GET</AllowedMethod>`)))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration(doc(minimal + '<MaxAgeSeconds>1e3</MaxAgeSeconds>')))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration(doc(minimal, '<AllowedOrigin>**</AllowedOrigin><AllowedMethod>GET</AllowedMethod>')))).toBe('InvalidRequest');
    expect(codeOf(() => parseCorsConfiguration(doc(minimal + '<AllowedMethod>get</AllowedMethod>')))).toBe('InvalidRequest');
    expect(codeOf(() => parseCorsConfiguration(doc(minimal + '<AllowedHeader>*</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>')))).toBeUndefined();
  });
});

describe('matching', () => {
  it('matches origins case-sensitively with one wildcard, never overlapping prefix and suffix', () => {
    const cases: [string, string, boolean][] = [
      ['https://*.example.com', 'https://a.b.example.com', true],
      ['https://*.example.com', 'https://example.com', false],
      ['http*://example.com', 'https://example.com', true],
      ['ab*ba', 'aba', false],
      ['start*end', 'startend', true],
      ['https://example.com', 'https://EXAMPLE.com', false],
    ];
    for (const [pattern, origin, expected] of cases) {
      expect(matchCorsRule([rule({ allowedOrigins: [pattern] })], origin, 'GET') !== undefined, `${pattern} ${origin}`).toBe(expected);
    }
  });

  it('matches requested headers case-insensitively, every one of them, and takes the first rule that fits', () => {
    expect(requestedHeaders(' Content-Type ,, X-Amz-Date ')).toEqual(['content-type', 'x-amz-date']);
    const narrow = rule({ allowedOrigins: ['https://a.example'], allowedHeaders: ['Content-Type'] });
    const wide = rule({ allowedOrigins: ['https://a.example'], allowedHeaders: ['x-amz-*', 'content-type'] });
    expect(matchCorsRule([narrow, wide], 'https://a.example', 'GET', ['content-type'])?.rule).toBe(narrow);
    expect(matchCorsRule([narrow, wide], 'https://a.example', 'GET', ['content-type', 'x-amz-date'])?.rule).toBe(wide);
    expect(matchCorsRule([narrow, wide], 'https://a.example', 'GET', ['authorization'])).toBeUndefined();
  });

  it('answers preflights and actual requests with the matching rule, or the AWS errors', () => {
    const rules = [rule({ allowedOrigins: ['https://a.example', '*'], allowedMethods: ['GET', 'PUT'], maxAgeSeconds: 0 })];
    // '*' anywhere in the rule answers '*', without credentials; MaxAgeSeconds 0 is still sent.
    expect(preflightHeaders(rules, { origin: 'https://a.example', method: 'PUT', headers: undefined }, 'OBJECT')).toMatchObject({
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, PUT',
      'Access-Control-Max-Age': '0',
    });
    expect(preflightHeaders(rules, { origin: 'https://a.example', method: 'PUT', headers: undefined }, 'OBJECT')['Access-Control-Allow-Credentials']).toBeUndefined();
    expect(codeOf(() => preflightHeaders(rules, { origin: '', method: 'GET', headers: undefined }, 'BUCKET'))).toBe('BadRequest');
    expect(codeOf(() => preflightHeaders(rules, { origin: 'https://a.example', method: 'OPTIONS', headers: undefined }, 'BUCKET'))).toBe('BadRequest');
    expect(codeOf(() => preflightHeaders(undefined, { origin: 'https://a.example', method: 'GET', headers: undefined }, 'BUCKET'))).toBe('AccessForbidden');
    expect(codeOf(() => preflightHeaders(rules, { origin: 'https://a.example', method: 'DELETE', headers: undefined }, 'BUCKET'))).toBe('AccessForbidden');
    expect(actualResponseHeaders(rules, 'https://a.example', 'DELETE')).toEqual({});
    expect(actualResponseHeaders(rules, undefined, 'GET')).toEqual({});
    expect(actualResponseHeaders(rules, 'https://b.example', 'GET')['Access-Control-Allow-Origin']).toBe('*');
  });
});
