// The page's only way to the server: same-origin fetches to /console/api with the session
// cookie (HTTP-only, so never visible here) and the CSRF token, which lives in this module's
// memory only. Errors become ApiError with the server's code and message; a lost session
// (expired, signed out, token revoked) is announced to the app, which shows the sign-in form.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface WhoAmI {
  id: string;
  name: string;
  namespaces: string[];
  orgAdmin: boolean;
}

export interface SessionInfo {
  csrf: string;
  whoami: WhoAmI;
  features: { kubeconfig: boolean };
}

let csrf = '';
let onSessionLost: (message: string) => void = () => {};

export function setSession(info: SessionInfo | undefined): void {
  csrf = info?.csrf ?? '';
}

export function whenSessionLost(handler: (message: string) => void): void {
  onSessionLost = handler;
}

export function csrfToken(): string {
  return csrf;
}

/** Turn an error answer (console JSON or S3 XML) into an ApiError; 401 also ends the session in the page. */
export async function errorOf(status: number, text: string, contentType: string | null): Promise<ApiError> {
  let code = `HTTP${status}`;
  let message = text.slice(0, 500) || `the server answered ${status}`;
  if (contentType?.includes('json')) {
    try {
      const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (e?.code) code = e.code;
      if (e?.message) message = e.message;
    } catch {
      /* keep the raw text */
    }
  } else if (contentType?.includes('xml')) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    // S3's codes say more than its messages ("InvalidBucketName: The specified bucket is not valid."): both are shown.
    code = doc.querySelector('Error > Code')?.textContent ?? code;
    message = `${code}: ${doc.querySelector('Error > Message')?.textContent ?? message}`;
  }
  const err = new ApiError(status, code, message);
  if (status === 401) onSessionLost(message);
  return err;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/console/api${path}`, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw await errorOf(res.status, text, res.headers.get('content-type'));
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Fetch an attachment (the s3cmd file, a kubeconfig) and hand it to the browser as a download.
 * Fetched first, so that a refusal shows the server's message instead of saving an error.
 */
export async function downloadAttachment(path: string, init: { method?: string; body?: unknown } = {}): Promise<void> {
  const res = await fetch(`/console/api${path}`, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw await errorOf(res.status, text, res.headers.get('content-type'));
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The proxy path of a bucket or key: each key segment encoded, '/' kept. */
export function s3Path(region: string, bucket: string, key = ''): string {
  const k = key === '' ? '' : '/' + key.split('/').map(encodeURIComponent).join('/');
  return `/console/api/s3/${encodeURIComponent(region)}/${encodeURIComponent(bucket)}${k}`;
}

/** An S3 request through the server (see src/console/s3-proxy.ts); resolves to the answer's text. */
export async function s3(method: string, path: string, options: { body?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<string> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf, ...(options.contentType ? { 'content-type': options.contentType } : {}), ...options.headers },
    body: options.body,
  });
  const text = await res.text();
  if (!res.ok) throw await errorOf(res.status, text, res.headers.get('content-type'));
  return text;
}

/** One PUT of `body` with progress (fetch cannot report upload progress; XMLHttpRequest can); resolves to the ETag. */
function put(path: string, body: Blob, contentType: string | undefined, onProgress: (loaded: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    xhr.setRequestHeader('x-csrf-token', csrf);
    if (contentType) xhr.setRequestHeader('content-type', contentType);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('etag') ?? '');
      else void errorOf(xhr.status, xhr.responseText, xhr.getResponseHeader('content-type')).then(reject);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NetworkError', 'the upload was interrupted'));
    xhr.send(body);
  });
}

/** Files above this go up as a multipart upload, so that no request outlasts the admin listener's timeout. */
export const multipartThresholdBytes = 16 * 1024 * 1024;
const partBytes = 8 * 1024 * 1024;

/** Upload a file to `path` (an s3Path with a key), reporting the bytes sent so far. */
export async function upload(path: string, file: File, onProgress: (loaded: number, total: number) => void): Promise<void> {
  const type = file.type || 'application/octet-stream';
  if (file.size <= multipartThresholdBytes) {
    await put(path, file, type, (loaded) => onProgress(loaded, file.size));
    return;
  }
  const created = await s3('POST', `${path}?uploads`, { contentType: type });
  const uploadId = new DOMParser().parseFromString(created, 'application/xml').getElementsByTagName('UploadId')[0]?.textContent;
  if (!uploadId) throw new ApiError(502, 'BadResponse', 'CreateMultipartUpload answered without an UploadId');
  const id = encodeURIComponent(uploadId);
  // S3 allows 10,000 parts: a larger file gets larger parts.
  const size = Math.max(partBytes, Math.ceil(file.size / 10_000));
  const parts: string[] = [];
  try {
    for (let offset = 0, n = 1; offset < file.size; offset += size, n++) {
      const done = offset;
      parts.push(await put(`${path}?partNumber=${n}&uploadId=${id}`, file.slice(offset, offset + size), undefined, (loaded) => onProgress(done + loaded, file.size)));
    }
    const xml = `<CompleteMultipartUpload>${parts.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const completed = await s3('POST', `${path}?uploadId=${id}`, { body: xml, contentType: 'application/xml' });
    // S3 may answer 200 and still report an error in the body.
    if (completed.includes('<Error>')) throw await errorOf(500, completed, 'application/xml');
  } catch (err) {
    // Leave no parts behind (they count against the quota).
    await s3('DELETE', `${path}?uploadId=${id}`).catch(() => undefined);
    throw err;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
