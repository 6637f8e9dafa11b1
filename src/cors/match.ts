// Evaluating a bucket's CORS rules: which rule a request matches, and the Access-Control-*
// headers of the answer. Pure (header values in, header values out): the HTTP side is in
// src/cors/response.ts, the preflight operation in src/ops/cors-preflight.ts.
//
// Rules are tried in order; the first whose AllowedOrigin matches the Origin (case-sensitively,
// one '*' standing for any run of characters), whose AllowedMethod names the method and, for a
// preflight, whose AllowedHeader patterns (case-insensitive) cover every requested header wins.
// Its answer, as AWS gives it:
//   Access-Control-Allow-Origin       '*' when the rule allows any origin ('*'), else the Origin
//   Access-Control-Allow-Methods      the rule's methods
//   Access-Control-Allow-Headers      (preflight) the requested headers, lower-cased
//   Access-Control-Expose-Headers     the rule's ExposeHeader
//   Access-Control-Max-Age            the rule's MaxAgeSeconds
//   Access-Control-Allow-Credentials  'true' when the Origin is echoed (never with '*')
//   Vary                              Origin, Access-Control-Request-Headers, Access-Control-Request-Method
import { S3Error } from '../errors.ts';
import type { CorsRule } from '../store/types.ts';
import { corsMethods } from './config.ts';

export const corsVary = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
const notAllowed =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

export type CorsHeaders = Record<string, string>;

/** Does `value` match `pattern`, where one '*' stands for any run of characters? */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return value.length >= prefix.length + suffix.length && value.startsWith(prefix) && value.endsWith(suffix);
}

function headerAllowed(rule: CorsRule, header: string): boolean {
  return rule.allowedHeaders.some((pattern) => wildcardMatch(pattern.trim().toLowerCase(), header));
}

/** The names of an Access-Control-Request-Headers value: trimmed, lower-cased, empty ones dropped. */
export function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
}

export interface CorsMatch {
  rule: CorsRule;
  allowOrigin: string;
}

/** The first rule that allows `origin` to use `method` (and, for a preflight, `headers`). */
export function matchCorsRule(rules: CorsRule[], origin: string, method: string, headers: string[] = []): CorsMatch | undefined {
  for (const rule of rules) {
    if (!rule.allowedMethods.includes(method)) continue;
    if (!rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, origin))) continue;
    if (!headers.every((h) => headerAllowed(rule, h))) continue;
    return { rule, allowOrigin: rule.allowedOrigins.includes('*') ? '*' : origin };
  }
  return undefined;
}

function answerHeaders(match: CorsMatch, allowHeaders: string[]): CorsHeaders {
  const { rule, allowOrigin } = match;
  const out: CorsHeaders = {
    'Access-Control-Allow-Origin': allowOrigin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
  };
  if (allowHeaders.length > 0) out['Access-Control-Allow-Headers'] = allowHeaders.join(', ');
  if (rule.exposeHeaders.length > 0) out['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) out['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  if (allowOrigin !== '*') out['Access-Control-Allow-Credentials'] = 'true';
  out.Vary = corsVary;
  return out;
}

export interface PreflightRequest {
  origin: string | undefined;
  /** Access-Control-Request-Method */
  method: string | undefined;
  /** Access-Control-Request-Headers */
  headers: string | undefined;
}

/**
 * The answer to a preflight (OPTIONS) for a bucket with `rules` (undefined: never configured),
 * or the error AWS gives: BadRequest without an Origin or a usable Access-Control-Request-Method,
 * 403 AccessForbidden when CORS is not configured or no rule matches.
 */
export function preflightHeaders(rules: CorsRule[] | undefined, req: PreflightRequest, resourceType: 'BUCKET' | 'OBJECT'): CorsHeaders {
  if (!req.origin) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const method = req.method;
  if (method === undefined || !(corsMethods as readonly string[]).includes(method)) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${method ?? 'null'}`);
  }
  const details = { Method: method, ResourceType: resourceType };
  if (!rules) throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', details);
  const headers = requestedHeaders(req.headers);
  const match = matchCorsRule(rules, req.origin, method, headers);
  if (!match) throw new S3Error('AccessForbidden', notAllowed, details);
  return answerHeaders(match, headers);
}

/**
 * The headers of an actual (non-preflight) answer, errors included, to a request carrying
 * `origin`: those of the first matching rule, or none. AllowedHeader plays no part here.
 */
export function actualResponseHeaders(rules: CorsRule[] | undefined, origin: string | undefined, method: string): CorsHeaders {
  if (!rules || !origin) return {};
  const match = matchCorsRule(rules, origin, method);
  return match ? answerHeaders(match, []) : {};
}
