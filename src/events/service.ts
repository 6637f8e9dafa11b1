// What the request path sees of the event machinery (src/events/index.ts builds it): the
// outbox workers to wake, and the access-log recorder. Absent in processes that deliver nothing
// (the CLI), so every user treats it as optional.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTrace } from '../access-log/trace.ts';

export interface EventService {
  /** look at the region's outbox soon: rows were just recorded outside a change (test events, flushes) */
  wake(region: string): void;
  /** start following a request for the access log (undefined: logging is off for this process) */
  trace(raw: IncomingMessage, res: ServerResponse, requestId: string): RequestTrace | undefined;
  /** deliver the access-log records pending for a target and prefix now; the log objects written */
  flushAccessLog(region: string, target: string, prefix: string): Promise<string[]>;
  /** internal requests between nodes (replicas arriving from another process); false if not one */
  handleInternal(raw: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean>;
  /** a bucket of a region served by another process (STRATA_REGION_ENDPOINTS), if one answers with it */
  findRemoteBucket(bucket: string): Promise<{ region: string; versioning: string | null } | undefined>;
  close(): Promise<void>;
}
