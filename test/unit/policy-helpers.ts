// Shared builders for the policy unit tests.
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { S3Error } from '../../src/errors.ts';
import { conditionValues } from '../../src/policy/conditions.ts';
import type { RequestContext, RequestPrincipal } from '../../src/policy/evaluate.ts';
import { parsePolicy, type ParsedPolicy } from '../../src/policy/parse.ts';

export const BUCKET = 'happybucket';
export const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
export const OBJECT_ARN = `arn:aws:s3:::${BUCKET}/file.txt`;

export const anonymous: RequestPrincipal = { kind: 'anonymous' };
export function user(org: string, name: string): RequestPrincipal {
  return { kind: 'user', org, user: name };
}

export type Json = Record<string, unknown>;

/** A statement with permissive defaults: Allow anyone s3:GetObject on every object. */
export function stmt(overrides: Json = {}): Json {
  return {
    Effect: 'Allow',
    Principal: '*',
    Action: 's3:GetObject',
    Resource: `${BUCKET_ARN}/*`,
    ...overrides,
  };
}

export function doc(statements: Json | Json[], extra: Json = {}): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements, ...extra });
}

export function policy(statements: Json | Json[], extra: Json = {}): ParsedPolicy {
  return parsePolicy(doc(statements, extra), { bucket: BUCKET });
}

export interface CtxInput {
  principal?: RequestPrincipal;
  action?: string;
  resource?: string;
  cond?: Record<string, string | number | boolean | string[] | undefined>;
}

export function ctx(input: CtxInput = {}): RequestContext {
  return {
    principal: input.principal ?? anonymous,
    action: input.action ?? 's3:GetObject',
    resource: input.resource ?? OBJECT_ARN,
    conditions: conditionValues(input.cond ?? {}),
  };
}

/** Assert fn throws S3Error with the code and a message matching `message`. */
export function expectS3Error(fn: () => unknown, code: string, message?: string | RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an S3Error to be thrown').toBeInstanceOf(S3Error);
  const e = thrown as S3Error;
  expect(e.code).toBe(code);
  expect(e.status).toBe(400);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else if (message !== undefined) expect(e.message).toMatch(message);
}

export function expectMalformed(text: string, message: string | RegExp, bucket = BUCKET): void {
  expectS3Error(() => parsePolicy(text, { bucket }), 'MalformedPolicy', message);
}

const policiesDir = fileURLToPath(new URL('../../policies/', import.meta.url));

export function examplePolicyText(name: string): string {
  return readFileSync(`${policiesDir}${name}.json`, 'utf8');
}

export function examplePolicy(name: string): ParsedPolicy {
  return parsePolicy(examplePolicyText(name), { bucket: BUCKET });
}

export { policiesDir };
