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

/** Upload a file with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function upload(path: string, file: File, onProgress: (loaded: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    xhr.setRequestHeader('x-csrf-token', csrf);
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total || file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else void errorOf(xhr.status, xhr.responseText, xhr.getResponseHeader('content-type')).then(reject);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NetworkError', 'the upload was interrupted'));
    xhr.send(file);
  });
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
