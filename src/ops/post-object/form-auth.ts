// Who sent a browser-based upload: the signature fields of the form, checked against the policy
// document they sign. SigV4 (x-amz-algorithm = AWS4-HMAC-SHA256, x-amz-credential, x-amz-date,
// x-amz-signature = hex HMAC-SHA256(signing key, policy)) and the legacy SigV2 form
// (AWSAccessKeyId, signature = base64 HMAC-SHA1(secret, policy)), which browsers' upload forms and
// the Ceph s3-tests still use. A form with neither a policy nor signature fields is anonymous.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ALGORITHM, cachedSigningKey, hmacHex, parseAmzDate, signaturesEqual } from '../../auth/sigv4.ts';
import { S3Error } from '../../errors.ts';
import type { Credentials, Principal } from '../../identity/identity-store.ts';

export type FormAuth =
  | { kind: 'anonymous' }
  | { kind: 'signed'; version: 2 | 4; principal: Principal; policy: string };

/** Form fields, by lower-case name. */
export type FieldMap = Map<string, string>;

function missingField(name: string): S3Error {
  return new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, {
    ArgumentName: name,
    ArgumentValue: '',
  });
}

function invalidField(name: string, value: string, message: string): S3Error {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

/** Form fields that carry the signature and are never subject to policy conditions. */
export function signatureFields(version: 2 | 4): string[] {
  return version === 4 ? ['x-amz-signature'] : ['awsaccesskeyid', 'signature'];
}

export interface FormAuthOptions {
  /**
   * The signer's credentials, synchronously: the caller loads them first (see formAccessKey),
   * since the identity store may need a database round trip.
   */
  credentialsFor(accessKey: string): Credentials | undefined;
  /** credential-scope regions that verify */
  acceptedRegions: string[];
}

/** The access key a form's signature fields name, if any (what authenticateForm will look up). */
export function formAccessKey(fields: FieldMap): string | undefined {
  if (fields.get('policy') === undefined) return undefined;
  if (fields.get('x-amz-algorithm') !== undefined) return fields.get('x-amz-credential')?.split('/')[0];
  return fields.get('awsaccesskeyid');
}

export function authenticateForm(fields: FieldMap, opts: FormAuthOptions): FormAuth {
  const policy = fields.get('policy');
  const algorithm = fields.get('x-amz-algorithm');
  if (policy === undefined) {
    // Signature fields without the document they sign cannot be verified.
    for (const name of ['x-amz-signature', 'x-amz-credential', 'signature', 'awsaccesskeyid']) {
      if (fields.has(name)) throw missingField('policy');
    }
    return { kind: 'anonymous' };
  }
  if (algorithm !== undefined) {
    if (algorithm !== ALGORITHM) throw invalidField('x-amz-algorithm', algorithm, `Unsupported x-amz-algorithm; only ${ALGORITHM} is supported.`);
    return { kind: 'signed', version: 4, principal: verifyV4(fields, policy, opts), policy };
  }
  return { kind: 'signed', version: 2, principal: verifyV2(fields, policy, opts), policy };
}

function lookup(opts: FormAuthOptions, accessKey: string): { secret: string; principal: Principal } {
  const found = opts.credentialsFor(accessKey);
  if (!found) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKey });
  return found;
}

function verifyV4(fields: FieldMap, policy: string, opts: FormAuthOptions): Principal {
  const credential = fields.get('x-amz-credential');
  if (credential === undefined) throw missingField('x-amz-credential');
  const signature = fields.get('x-amz-signature');
  if (signature === undefined) throw missingField('x-amz-signature');
  const amzDate = fields.get('x-amz-date');
  if (amzDate === undefined) throw missingField('x-amz-date');
  if (!parseAmzDate(amzDate)) throw invalidField('x-amz-date', amzDate, 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'".');

  const parts = credential.split('/');
  const bad = (why: string) => invalidField('x-amz-credential', credential, `Error parsing the X-Amz-Credential parameter; ${why}`);
  if (parts.length !== 5 || parts.some((p) => p === '')) throw bad('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  const [accessKey, date, region, service, terminal] = parts;
  if (!/^\d{8}$/.test(date)) throw bad(`incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
  if (!opts.acceptedRegions.includes(region)) throw bad(`the region '${region}' is wrong; expecting '${opts.acceptedRegions[0]}'`);
  if (service !== 's3') throw bad(`incorrect service "${service}". This endpoint belongs to "s3".`);
  if (terminal !== 'aws4_request') throw bad(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);

  const { secret, principal } = lookup(opts, accessKey);
  const expected = hmacHex(cachedSigningKey(accessKey, secret, date, region, service), policy);
  if (!signaturesEqual(expected, signature.trim())) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: accessKey, StringToSign: policy, SignatureProvided: signature });
  }
  return principal;
}

function verifyV2(fields: FieldMap, policy: string, opts: FormAuthOptions): Principal {
  const accessKey = fields.get('awsaccesskeyid');
  if (accessKey === undefined) throw missingField('AWSAccessKeyId');
  const signature = fields.get('signature');
  if (signature === undefined) throw missingField('signature');
  const { secret, principal } = lookup(opts, accessKey);
  const expected = createHmac('sha1', secret).update(policy, 'utf8').digest();
  const provided = Buffer.from(signature.trim(), 'base64');
  const matches = provided.length === expected.length && provided.toString('base64') === signature.trim() && timingSafeEqual(provided, expected);
  if (!matches) {
    throw new S3Error('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: accessKey, StringToSign: policy, SignatureProvided: signature });
  }
  return principal;
}
