// Form fields that become stored response headers (Content-Type, x-amz-meta-*, the website
// redirect...). A REST request cannot carry a control character in a header (Node's parser
// refuses it) and its values arrive as bytes, one character each; a form field is free text
// decoded as UTF-8. So each such field is checked before anything is stored: otherwise every
// later GET of the object would fail when the value is written back as a header.
import { S3Error } from '../../errors.ts';

const controlCharacter = /[\x00-\x1f\x7f]/;
// RFC 9110 token: what a header name may be made of.
const headerToken = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** The field's value, unchanged; InvalidArgument when no header could carry it. */
export function formHeaderValue(name: string, value: string): string {
  const invalid = (message: string) => new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
  if (!headerToken.test(name)) throw invalid(`The form field name ${JSON.stringify(name)} cannot be a header name.`);
  if (controlCharacter.test(value)) throw invalid(`The form field ${name} contains a control character.`);
  return value;
}
