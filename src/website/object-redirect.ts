// x-amz-website-redirect-location: set on PutObject, CreateMultipartUpload, CopyObject and POST
// uploads, stored with the object, returned by GET/HEAD on the REST endpoint, and answered as a
// 301 by the website endpoint. AWS accepts a key path ('/other.html') or an absolute http(s) URL,
// at most 2 KB. One check for every way in (PUT, copy, multipart, POST form: all through here),
// and only URL characters: the value is written back as a Location and an x-amz header, so a
// space, a control character or a non-ASCII character would break or split those answers.
import { S3Error } from '../errors.ts';

export const websiteRedirectHeader = 'x-amz-website-redirect-location';
const maxRedirectLocationBytes = 2048;
// RFC 3986: unreserved, reserved and '%' (for percent-encoded octets).
const urlCharacters = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/** The header's value, validated; undefined when the request does not set it. */
export function websiteRedirectLocation(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers[websiteRedirectHeader];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  const invalid = (message: string) => new S3Error('InvalidArgument', message, { ArgumentName: websiteRedirectHeader, ArgumentValue: value });
  if (Buffer.byteLength(value) > maxRedirectLocationBytes) throw invalid('The length of website redirect location cannot exceed 2,048 characters.');
  if (!value.startsWith('/') && !/^https?:\/\//i.test(value)) throw invalid("The website redirect location must have a prefix of 'http://' or 'https://' or '/'.");
  if (!urlCharacters.test(value)) throw invalid('The website redirect location may contain only URL characters (percent-encode the others).');
  return value;
}
