// Following one request for the access log: the pipeline fills in what it learns (where the
// request went, who sent it, how it failed); when the response has gone out, the recorder turns
// it into a record if the bucket is logged. Cheap for requests to buckets that are not: a few
// field writes and one 'finish' listener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ResolvedRequest } from '../addressing.ts';
import type { Principal } from '../identity/identity-store.ts';
import type { BucketRecord } from '../store/types.ts';

export class RequestTrace {
  readonly started = performance.now();
  readonly time = new Date();
  target: ResolvedRequest | undefined;
  /** the bucket as the pipeline loaded it (null: it does not exist); undefined until then */
  bucket: BucketRecord | null | undefined;
  principal: Principal | undefined;
  sourceIp: string | undefined;
  errorCode: string | undefined;
  /** when the response head was written */
  firstByteAt: number | undefined;
  /** the request was let in by an ACL grant rather than ownership or a policy */
  aclRequired = false;
  private readonly bytesBefore: number;

  constructor(
    readonly raw: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    done: (trace: RequestTrace) => void,
  ) {
    this.bytesBefore = raw.socket?.bytesWritten ?? 0;
    const socket = raw.socket;
    res.once('close', () => {
      this.bytesAfter = socket?.bytesWritten ?? this.bytesBefore;
      done(this);
    });
  }

  private bytesAfter = 0;

  /** body bytes sent: what the socket wrote during the response, less the response head */
  get bytesSent(): number {
    const head = (this.res as unknown as { _header?: string })._header?.length ?? 0;
    return Math.max(0, this.bytesAfter - this.bytesBefore - head);
  }

  get tls(): { cipher: string | undefined; version: string | undefined } {
    const socket = this.raw.socket as TLSSocket;
    if (!socket || typeof socket.getCipher !== 'function') return { cipher: undefined, version: undefined };
    return { cipher: socket.getCipher()?.name, version: socket.getProtocol() ?? undefined };
  }

  /** SigV4 / SigV2, and whether the signature came in a header or the query string */
  get auth(): { sigVersion: string | undefined; authType: string | undefined } {
    const authorization = this.raw.headers.authorization;
    const query = this.target?.query;
    if (authorization?.startsWith('AWS4-')) return { sigVersion: 'SigV4', authType: 'AuthHeader' };
    if (authorization?.startsWith('AWS ')) return { sigVersion: 'SigV2', authType: 'AuthHeader' };
    if (query?.has('X-Amz-Signature')) return { sigVersion: 'SigV4', authType: 'QueryString' };
    if (query?.has('Signature')) return { sigVersion: 'SigV2', authType: 'QueryString' };
    return { sigVersion: undefined, authType: undefined };
  }
}
