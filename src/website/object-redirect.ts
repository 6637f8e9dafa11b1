// x-amz-website-redirect-location: set on PutObject, CreateMultipartUpload, CopyObject and POST
// uploads, stored with the object, returned by GET/HEAD on the REST endpoint, and answered as a
// 301 by the website endpoint. AWS accepts a key path ('/other.html') or an absolute http(s) URL,
// at most 2 KB.
import { S3Error } from '../errors.ts';

export const websiteRedirectHeader = 'x-amz-website-redirect-location';
const maxRedirectLocationBytes = 2048;

/** The header's value, validated; undefined when the request does not set it. */
export function websiteRedirectLocation(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers[websiteRedirectHeader];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  const invalid = (message: string) => new S3Error('InvalidArgument', message, { ArgumentName: websiteRedirectHeader, ArgumentValue: value });
  if (Buffer.byteLength(value) > maxRedirectLocationBytes) throw invalid('The length of website redirect location cannot exceed 2,048 characters.');
  if (!value.startsWith('/') && !/^https?:\/\//i.test(value)) throw invalid("The website redirect location must have a prefix of 'http://' or 'https://' or '/'.");
  return value;
}
