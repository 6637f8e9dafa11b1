// Access logs: one JSON line per S3 request, written by pino (the logger Fastify carries) through
// an asynchronous buffered destination, so that a request never waits for a log write.
// Configured by accessLog: 'off' (the default), 'stdout', or a file path (appended to, created
// owner-only: lines name buckets, keys and users).
//
// A line holds the request id (the x-amz-request-id the client saw), operation, region, bucket,
// key, status, error code, body bytes each way, duration, the principal (organisation, user and
// access key: never a secret, a signature or an Authorization header) and the source address.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import { OWNER_DIR_MODE, OWNER_FILE_MODE } from '../store/file-modes.ts';

export interface AccessLogEntry {
  requestId: string;
  operation: string;
  method: string;
  region: string;
  bucket?: string;
  key?: string;
  status: number;
  errorCode?: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  ttfbMs?: number;
  org?: string;
  user?: string;
  accessKey?: string;
  sourceIp: string;
  userAgent?: string;
}

export interface AccessLog {
  write(entry: AccessLogEntry): void;
  /** write out what is buffered (tests, shutdown) */
  flush(): void;
  close(): void;
}

/** Bytes gathered before a write to a file; stdout is written at once (someone may be watching). */
const FILE_BUFFER_BYTES = 8 * 1024;

export function openAccessLog(target: string): AccessLog | undefined {
  if (target === 'off' || target === '') return undefined;
  let destination: ReturnType<typeof pino.destination>;
  if (target === 'stdout') {
    destination = pino.destination({ dest: 1, sync: false });
  } else {
    mkdirSync(dirname(target), { recursive: true, mode: OWNER_DIR_MODE });
    closeSync(openSync(target, 'a', OWNER_FILE_MODE));
    destination = pino.destination({ dest: target, sync: false, minLength: FILE_BUFFER_BYTES });
  }
  const logger = pino(
    {
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  let closed = false;
  const flushNow = () => {
    try {
      destination.flushSync();
    } catch {
      // not open yet (nothing written) or already closed: nothing to flush
    }
  };
  return {
    write(entry) {
      if (!closed) logger.info(entry, 'access');
    },
    flush: flushNow,
    close() {
      if (closed) return;
      closed = true;
      flushNow();
      if (target !== 'stdout') destination.end();
    },
  };
}
