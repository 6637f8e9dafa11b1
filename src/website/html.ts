// The HTML error page of the website endpoints: browsers get a page, not an XML document. Its
// shape follows AWS's (a title with the status, then Code, Message, the detail fields and the
// request ids as a list), and when a configured error document could not be served, a second
// list says why.
import { STATUS_CODES } from 'node:http';
import type { S3Error } from '../errors.ts';

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => htmlEscapes[c]);

function errorItems(err: S3Error, extra: Record<string, string>): string {
  const items: [string, string][] = [['Code', err.code], ['Message', err.message], ...Object.entries(err.details), ...Object.entries(extra)];
  return items.map(([name, value]) => `<li>${escapeHtml(name)}: ${escapeHtml(value)}</li>`).join('\n');
}

/**
 * The page for `err`. `errorDocumentFailure` is the error met while fetching the bucket's own
 * error document, when there is one and it could not be served.
 */
export function renderErrorPage(err: S3Error, requestId: string, errorDocumentFailure?: S3Error): string {
  const title = `${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`;
  const lines = [
    '<html>',
    `<head><title>${escapeHtml(title)}</title></head>`,
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    '<ul>',
    errorItems(err, { RequestId: requestId, HostId: requestId }),
    '</ul>',
  ];
  if (errorDocumentFailure) {
    lines.push('<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>', '<ul>', errorItems(errorDocumentFailure, {}), '</ul>');
  }
  lines.push('<hr/>', '</body>', '</html>', '');
  return lines.join('\n');
}
