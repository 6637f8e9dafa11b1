// The pure parts of static website hosting: which hosts are website hosts (and which patterns
// may be configured), the redirect decisions of routing rules, and the configuration document's
// parse/render round trip.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { S3Error } from '../../src/errors.ts';
import type { WebsiteRoutingRule } from '../../src/store/types.ts';
import { parseWebsiteConfiguration, renderWebsiteConfiguration } from '../../src/website/configuration.ts';
import { matchWebsiteHost, mayBeWebsiteHost, websiteHostPatternProblem } from '../../src/website/host.ts';
import { keyPath, redirectAll, ruleForError, ruleForKey, ruleRedirection, siteLocation } from '../../src/website/routing.ts';

const defaultPattern = '{bucket}.s3-website.{region}.{baseDomain}';

describe('website hosts', () => {
  it('match <bucket>.s3-website.<region>.<base>, with dotted buckets, ports and any case', () => {
    expect(matchWebsiteHost('site.s3-website.lga1.localhost:9000', { websiteHostPattern: defaultPattern, baseDomain: 'localhost' })).toEqual({ bucket: 'site', region: 'lga1' });
    expect(matchWebsiteHost('www.example.com.s3-website.ord1.s3.example.net', { websiteHostPattern: defaultPattern, baseDomain: 's3.example.net' })).toEqual({ bucket: 'www.example.com', region: 'ord1' });
    expect(matchWebsiteHost('Site.S3-Website.LGA1.Localhost', { websiteHostPattern: defaultPattern, baseDomain: 'localhost' })).toEqual({ bucket: 'site', region: 'lga1' });
  });

  it('are pre-checked cheaply: no false negatives, API hosts skipped', () => {
    const config = { websiteHostPattern: defaultPattern, baseDomain: 'localhost' };
    expect(mayBeWebsiteHost(config, 'site.s3-website.lga1.localhost:9000')).toBe(true);
    expect(mayBeWebsiteHost(config, 'Site.S3-Website.LGA1.Localhost')).toBe(true);
    expect(mayBeWebsiteHost(config, 'site.object.lga1.localhost')).toBe(false);
    expect(mayBeWebsiteHost(config, undefined)).toBe(false);
    expect(mayBeWebsiteHost({ websiteHostPattern: '', baseDomain: 'localhost' }, 'site.s3-website.lga1.localhost')).toBe(false);
  });

  it('give no protocol-relative redirect: a leading slash of a key stays encoded', () => {
    expect(keyPath('/evil.example/')).toBe('/%2Fevil.example/');
    expect(keyPath('//x')).toBe('/%2F/x');
    const origin = { protocol: 'http' as const, host: 'site.s3-website.lga1.localhost' };
    expect(siteLocation('//evil.example/', origin)).toBe('http://site.s3-website.lga1.localhost//evil.example/');
    expect(siteLocation('/\\evil.example/', origin)).toBe('http://site.s3-website.lga1.localhost/\\evil.example/');
    expect(siteLocation('/ok', origin)).toBe('/ok');
    const rule: WebsiteRoutingRule = { condition: { keyPrefixEquals: 'a' }, redirect: { replaceKeyWith: '/evil.example' } };
    expect(ruleRedirection(rule, 'a', origin).location).toBe('http://site.s3-website.lga1.localhost/%2Fevil.example');
  });

  it('leave the API hosts alone', () => {
    for (const host of ['object.lga1.localhost', 'site.object.lga1.localhost', 'site.localhost', 's3-website.lga1.localhost', '127.0.0.1:9000', '[::1]:9000', undefined]) {
      expect(matchWebsiteHost(host, { websiteHostPattern: defaultPattern, baseDomain: 'localhost' }), String(host)).toBeUndefined();
    }
  });

  it('follow a configured pattern (the dashed AWS form, a literal domain) and none when off', () => {
    expect(matchWebsiteHost('b.s3-website-las1.localhost', { websiteHostPattern: '{bucket}.s3-website-{region}.{baseDomain}', baseDomain: 'localhost' })).toEqual({ bucket: 'b', region: 'las1' });
    expect(matchWebsiteHost('b.web.lga1.sites.test', { websiteHostPattern: '{bucket}.web.{region}.sites.test', baseDomain: 'localhost' })).toEqual({ bucket: 'b', region: 'lga1' });
    expect(matchWebsiteHost('b.s3-website.lga1.localhost', { websiteHostPattern: '', baseDomain: 'localhost' })).toBeUndefined();
  });

  it('refuse patterns that cannot work, in the configuration too', () => {
    expect(websiteHostPatternProblem(defaultPattern)).toBeUndefined();
    expect(websiteHostPatternProblem('')).toBeUndefined();
    expect(websiteHostPatternProblem('s3-website.{region}.{bucket}')).toMatch(/start with/);
    expect(websiteHostPatternProblem('{bucket}.s3-website.{baseDomain}')).toMatch(/exactly once/);
    expect(websiteHostPatternProblem('{bucket}.site_{region}.x')).toMatch(/only letters/);
    expect(websiteHostPatternProblem('{bucket}.object.{region}.{baseDomain}')).toMatch(/S3 API/);
    expect(() => loadConfig({ env: { STRATA_WEBSITE_HOST_PATTERN: '{region}.x' } })).toThrow(ConfigError);
    expect(loadConfig({ env: {}, flags: { 'website-host-pattern': '{bucket}.w.{region}.example.test' } }).websiteHostPattern).toBe('{bucket}.w.{region}.example.test');
    expect(loadConfig({ env: {} }).websiteHostPattern).toBe(defaultPattern);
  });
});

describe('routing rules', () => {
  const origin = { protocol: 'http' as const, host: 'site.s3-website.lga1.localhost:9000' };
  const rules: WebsiteRoutingRule[] = [
    { condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyPrefixWith: 'documents/' } },
    { condition: { keyPrefixEquals: 'docs/', httpErrorCodeReturnedEquals: 404 }, redirect: { hostName: 'archive.example.com' } },
    { condition: { httpErrorCodeReturnedEquals: 404 }, redirect: { protocol: 'https', hostName: 'fallback.example.com', replaceKeyPrefixWith: 'report-404/' } },
    { condition: { keyPrefixEquals: 'old' }, redirect: { replaceKeyWith: 'new.html', httpRedirectCode: 302 } },
  ];

  it('decide by the key before the lookup, first match wins, error-code rules wait', () => {
    expect(ruleForKey(rules, 'docs/a.html')).toBe(rules[0]);
    expect(ruleForKey(rules, 'older/x')).toBe(rules[3]);
    expect(ruleForKey(rules, 'index.html')).toBeUndefined();
    expect(ruleForKey(undefined, 'x')).toBeUndefined();
    expect(ruleForKey([{ redirect: { hostName: 'all.example.com' } }], 'anything')?.redirect.hostName).toBe('all.example.com');
  });

  it('decide by the status once the lookup failed, with the key prefix when given', () => {
    expect(ruleForError(rules, 'docs/a.html', 404)).toBe(rules[1]);
    expect(ruleForError(rules, 'img/a.png', 404)).toBe(rules[2]);
    expect(ruleForError(rules, 'img/a.png', 403)).toBeUndefined();
  });

  it('build the Location from what the rule says and what the request had', () => {
    expect(ruleRedirection(rules[0], 'docs/a b.html', origin)).toEqual({ status: 301, location: 'http://site.s3-website.lga1.localhost:9000/documents/a%20b.html' });
    expect(ruleRedirection(rules[2], 'img/a.png', origin)).toEqual({ status: 301, location: 'https://fallback.example.com/report-404/img/a.png' });
    expect(ruleRedirection(rules[3], 'older/x', origin)).toEqual({ status: 302, location: 'http://site.s3-website.lga1.localhost:9000/new.html' });
    expect(ruleRedirection({ condition: { keyPrefixEquals: 'a/' }, redirect: { replaceKeyPrefixWith: '' } }, 'a/b', origin).location).toBe('http://site.s3-website.lga1.localhost:9000/b');
    expect(redirectAll({ hostName: 'www.example.com' }, '/x/y?z=1', origin)).toEqual({ status: 301, location: 'http://www.example.com/x/y?z=1' });
    expect(keyPath('a/ü?#/')).toBe('/a/%C3%BC%3F%23/');
  });
});

describe('WebsiteConfiguration documents', () => {
  it('render what they parse', () => {
    const xml =
      '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><ErrorDocument><Key>err &amp; more.html</Key></ErrorDocument>' +
      '<RoutingRules><RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x.example.com:8080</HostName><HttpRedirectCode>308</HttpRedirectCode></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>';
    const parsed = parseWebsiteConfiguration(xml);
    expect(parsed).toEqual({
      indexSuffix: 'index.html',
      errorKey: 'err & more.html',
      routingRules: [{ condition: { httpErrorCodeReturnedEquals: 404 }, redirect: { hostName: 'x.example.com:8080', httpRedirectCode: 308 } }],
    });
    expect(parseWebsiteConfiguration(renderWebsiteConfiguration(parsed))).toEqual(parsed);
    expect(renderWebsiteConfiguration(parsed)).toContain('<Key>err &amp; more.html</Key>');
  });

  it('refuse a DOCTYPE and documents of another root', () => {
    for (const xml of ['<!DOCTYPE x [<!ENTITY a "b">]><WebsiteConfiguration/>', '<CORSConfiguration/>', '<WebsiteConfiguration><IndexDocument><Suffix><b/></Suffix></IndexDocument></WebsiteConfiguration>']) {
      expect(() => parseWebsiteConfiguration(xml), xml).toThrow(S3Error);
    }
  });
});
