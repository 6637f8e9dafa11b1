// Topics and the outbox for operators, shared by the admin API (/v1/topics, /v1/events) and the
// CLI (`strata topic ...`, `strata events`): the same checks and the same views.
import type { RegionStore } from '../store/region-store.ts';
import { TopicError, topicView, validateTopic } from './topics.ts';

export interface TopicRequest {
  name?: unknown;
  organisation?: unknown;
  region?: unknown;
  'push-endpoint'?: unknown;
  secret?: unknown;
  OpaqueData?: unknown;
}

function regionStore(regions: Map<string, RegionStore>, region: string | undefined, fallback: string): RegionStore {
  const store = regions.get(region ?? fallback);
  if (!store) throw new TopicError(`unknown region "${region}" (regions: ${[...regions.keys()].join(', ')})`);
  return store;
}

const str = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new TopicError(`"${what}" must be a string`);
  return v;
};

export async function createTopic(regions: Map<string, RegionStore>, defaultRegion: string, body: TopicRequest): Promise<{ result: 'created' | 'updated'; topic: Record<string, unknown> }> {
  for (const field of Object.keys(body)) {
    if (!['name', 'organisation', 'region', 'push-endpoint', 'secret', 'OpaqueData'].includes(field)) throw new TopicError(`unknown field "${field}"`);
  }
  const store = regionStore(regions, str(body.region, 'region'), defaultRegion);
  const topic = {
    org: str(body.organisation, 'organisation') ?? '',
    name: str(body.name, 'name') ?? '',
    endpoint: str(body['push-endpoint'], 'push-endpoint') ?? '',
    secret: str(body.secret, 'secret') ?? null,
    opaqueData: str(body.OpaqueData, 'OpaqueData') ?? null,
    createdAt: Date.now(),
  };
  validateTopic(topic);
  const result = await store.meta.topics.put(topic);
  return { result, topic: topicView(store.name, topic) };
}

export async function listTopics(regions: Map<string, RegionStore>, org?: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const store of regions.values()) for (const t of await store.meta.topics.list(org)) out.push(topicView(store.name, t));
  return out;
}

export async function deleteTopic(regions: Map<string, RegionStore>, region: string, org: string, name: string): Promise<boolean> {
  return regionStore(regions, region, region).meta.topics.delete(org, name);
}

/** What waits in each region's outbox, and what became of deliveries so far. */
export async function eventStatus(regions: Map<string, RegionStore>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const store of regions.values()) {
    out.push({
      region: store.name,
      queued: (await store.meta.outbox.queued()).map((q) => ({ ...q, oldest: new Date(q.oldest).toISOString() })),
      counters: await store.meta.outbox.counters(),
    });
  }
  return out;
}
