// Redirect decisions of a website: RedirectAllRequestsTo, and the routing rules in their order.
// A rule without an HttpErrorCodeReturnedEquals condition is decided from the key alone, before
// any object is looked up; a rule with one applies only once the request has failed with that
// status. The first rule that matches wins. Pure: no I/O.
import type { WebsiteConfiguration, WebsiteRedirect, WebsiteRoutingRule } from '../store/types.ts';

/** Where the request came in: the scheme and the Host header a redirect keeps by default. */
export interface RequestOrigin {
  protocol: 'http' | 'https';
  host: string;
}

export interface Redirection {
  status: number;
  location: string;
}

/**
 * A key as a URL path: each segment percent-encoded, the slashes kept, except that a key starting
 * with '/' keeps that slash encoded: a path starting with '//' is, to a browser, another host.
 */
export function keyPath(key: string): string {
  const path = '/' + key.split('/').map(encodeURIComponent).join('/');
  return path.startsWith('//') ? '/%2F' + path.slice(2) : path;
}

/**
 * A Location that stays on this site: a path-only location starting with '//' or '/\\' (an object's
 * x-amz-website-redirect-location may be one) is made absolute on the request's host, so that
 * no browser reads it as a protocol-relative URL to another host.
 */
export function siteLocation(location: string, origin: RequestOrigin): string {
  return /^\/[/\\]/.test(location) ? `${origin.protocol}://${origin.host}${location}` : location;
}

/**
 * RedirectAllRequestsTo: 301 to the same path (and query) on the named host. `rawPath` is the
 * request target as the client sent it, already encoded.
 */
export function redirectAll(target: NonNullable<WebsiteConfiguration['redirectAllRequestsTo']>, rawPath: string, origin: RequestOrigin): Redirection {
  return { status: 301, location: `${target.protocol ?? origin.protocol}://${target.hostName}${rawPath}` };
}

function prefixMatches(rule: WebsiteRoutingRule, key: string): boolean {
  const prefix = rule.condition?.keyPrefixEquals;
  return prefix === undefined || key.startsWith(prefix);
}

/** The first rule that applies to `key` before any lookup (no error-code condition). */
export function ruleForKey(rules: readonly WebsiteRoutingRule[] | undefined, key: string): WebsiteRoutingRule | undefined {
  return rules?.find((rule) => rule.condition?.httpErrorCodeReturnedEquals === undefined && prefixMatches(rule, key));
}

/** The first rule that applies once the request for `key` has failed with `status`. */
export function ruleForError(rules: readonly WebsiteRoutingRule[] | undefined, key: string, status: number): WebsiteRoutingRule | undefined {
  return rules?.find((rule) => rule.condition?.httpErrorCodeReturnedEquals === status && prefixMatches(rule, key));
}

function redirectedKey(rule: WebsiteRoutingRule, redirect: WebsiteRedirect, key: string): string {
  if (redirect.replaceKeyWith !== undefined) return redirect.replaceKeyWith;
  if (redirect.replaceKeyPrefixWith !== undefined) {
    const matched = rule.condition?.keyPrefixEquals ?? '';
    return redirect.replaceKeyPrefixWith + key.slice(matched.length);
  }
  return key;
}

/** The redirect a rule makes of a request for `key`: what the rule leaves out, the request keeps. */
export function ruleRedirection(rule: WebsiteRoutingRule, key: string, origin: RequestOrigin): Redirection {
  const redirect = rule.redirect;
  const protocol = redirect.protocol ?? origin.protocol;
  const host = redirect.hostName ?? origin.host;
  return { status: redirect.httpRedirectCode ?? 301, location: `${protocol}://${host}${keyPath(redirectedKey(rule, redirect, key))}` };
}
