// Writing responses: operation results and S3 error documents. Every response carries
// x-amz-request-id; HEAD responses never carry a body (errors included).
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { S3Error } from '../errors.ts';
import { PooledFileReader } from '../store/pooled-reader.ts';
import { renderXml } from '../xml/xml.ts';
import type { OperationResult } from '../ops/operation.ts';

export function renderError(err: S3Error, resource: string, requestId: string): string {
  return renderXml(
    'Error',
    { Code: err.code, Message: err.message, ...err.details, Resource: resource, RequestId: requestId, HostId: requestId },
    {},
  );
}

function baseHeaders(res: ServerResponse, requestId: string): void {
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', requestId);
  res.setHeader('Server', 'Strata');
}

/** The S3 error code each errored response carried (read by the request metrics and access log). */
const sentErrorCodes = new WeakMap<ServerResponse, string>();

export function errorCodeSent(res: ServerResponse): string | undefined {
  return sentErrorCodes.get(res);
}

export function sendError(res: ServerResponse, err: S3Error, resource: string, requestId: string, isHead: boolean): void {
  sentErrorCodes.set(res, err.code);
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  baseHeaders(res, requestId);
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.statusCode = err.status;
  if (err.status === 304 || isHead) {
    if (err.status !== 304) res.setHeader('x-amz-error-code', err.code);
    res.end();
    return;
  }
  const body = renderError(err, resource, requestId);
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export async function sendResult(res: ServerResponse, result: OperationResult, requestId: string, isHead: boolean): Promise<void> {
  baseHeaders(res, requestId);
  res.statusCode = result.status ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (value !== undefined) res.setHeader(name, value);
  }
  let payload: Buffer | Readable | undefined;
  if (result.xml !== undefined) {
    payload = Buffer.from(result.xml);
    res.setHeader('Content-Type', 'application/xml');
  } else if (result.json !== undefined) {
    payload = Buffer.from(result.json);
    res.setHeader('Content-Type', 'application/json');
  } else {
    payload = result.body;
  }
  if (Buffer.isBuffer(payload)) {
    if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', payload.length);
    res.end(isHead ? undefined : payload);
    return;
  }
  if (payload instanceof Readable) {
    if (isHead) {
      payload.destroy();
      res.end();
      return;
    }
    // Headers are out once the first byte flows: a failure after that can only cut the connection.
    // (pipe rather than stream.pipeline: pipeline allocates an AbortController and a DOMException
    // per call, a measurable cost on small GETs.)
    await streamBody(res, payload);
    return;
  }
  if (!res.hasHeader('Content-Length') && res.statusCode !== 204 && res.statusCode !== 304) res.setHeader('Content-Length', 0);
  res.end();
}

/**
 * Stream `source` into the response; settles when the response closes, rejects if the source
 * fails (the connection is then cut). A PooledFileReader gets each chunk back once the socket
 * has taken it (the write callback), so that a large download reuses a few buffers instead of
 * allocating one per read; any other source is piped.
 */
function streamBody(res: ServerResponse, source: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    source.once('error', (err) => {
      res.destroy(err);
      reject(err);
    });
    res.once('close', () => {
      if (!res.writableFinished) source.destroy();
      resolve();
    });
    if (!(source instanceof PooledFileReader)) {
      source.pipe(res);
      return;
    }
    source.lendBuffers();
    res.on('drain', () => source.resume());
    source.on('data', (chunk: Buffer) => {
      const more = res.write(chunk, (err) => {
        if (!err) source.release(chunk);
      });
      if (!more) source.pause();
    });
    source.once('end', () => res.end());
  });
}
