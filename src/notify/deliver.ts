// Sending notification messages to a topic's webhook: one POST per message, the JSON body as
// recorded at commit time. A 2xx answer delivers; anything else (a refused connection, a
// timeout, 5xx, 4xx) is retried by the outbox worker. A topic deleted meanwhile drops its rows.
// Each message is signed when the topic has a secret, and carries the outbox row's id, which
// stays the same on a redelivery, so that a receiver can discard duplicates.
import { createHmac } from 'node:crypto';
import type { OutboxRow } from '../outbox/outbox.ts';
import type { Deliverer } from '../outbox/worker.ts';
import { parseTopicArn, type TopicTable } from './topics.ts';

export const notifyKind = 'notify';

/** What a notify row holds. */
export interface NotifyPayload {
  topic: string;
  /** the message, JSON text */
  body: string;
}

export function notifyDeliverer(topicsOf: (region: string) => TopicTable | undefined, options: { timeoutMs: number; retryForMs: number }): Deliverer {
  return {
    batchSize: 1,
    retryForMs: options.retryForMs,
    nameOf: (row: OutboxRow) => row.key,
    async deliver([row]: OutboxRow[]) {
      const payload = JSON.parse(row.payload) as NotifyPayload;
      const arn = parseTopicArn(payload.topic);
      const topic = arn ? await topicsOf(arn.region)?.get(arn.org, arn.name) : undefined;
      if (!topic) return 'dropped';
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'Strata-Notifications',
        'x-strata-topic': payload.topic,
        'x-strata-event-id': String(row.id),
      };
      if (topic.secret) headers['x-strata-signature'] = 'sha256=' + createHmac('sha256', topic.secret).update(payload.body).digest('hex');
      const response = await fetch(topic.endpoint, { method: 'POST', headers, body: payload.body, signal: AbortSignal.timeout(options.timeoutMs), redirect: 'manual' });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299) throw new Error(`${topic.endpoint} answered ${response.status}`);
      return 'delivered';
    },
  };
}
