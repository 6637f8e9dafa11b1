// `strata topic create|list|delete` and `strata events`, on the data root (also while the
// server runs: the server reads topics at each delivery).
//   strata topic create NAME --org ORG --push-endpoint URL [--region R] [--secret S] [--opaque-data D]
//   strata topic list [--org ORG] [-o json]
//   strata topic delete NAME --org ORG [--region R]
//   strata events [-o json]          outbox queues and delivery counters per region
import { loadConfig } from '../config.ts';
import { openRegionStores } from '../store/open.ts';
import { createTopic, deleteTopic, eventStatus, listTopics } from './admin.ts';
import { TopicError } from './topics.ts';

export const topicUsage = `
notification topics and the outbox (on the data root):
  topic create NAME --org ORG --push-endpoint URL [--region R] [--secret S] [--opaque-data D]
  topic list [--org ORG] [-o json]          topic delete NAME --org ORG [--region R]
  events [-o json]                          queued deliveries and delivered/retried/dropped counters
`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()).join('\n') + '\n';
}

export async function runTopicCommand(command: string, args: string[], flags: Record<string, string>): Promise<number | undefined> {
  if (command !== 'topic' && command !== 'events') return undefined;
  const config = loadConfig({ flags: Object.fromEntries(Object.entries(flags).filter(([k]) => ['data-dir', 'config', 'regions', 'metadata-url'].includes(k))) });
  const stores = await openRegionStores(config);
  const out = process.stdout;
  const json = flags.o === 'json' || flags.output === 'json';
  try {
    if (command === 'events') {
      const status = await eventStatus(stores.regions);
      if (json) out.write(JSON.stringify(status, null, 2) + '\n');
      else {
        const rows = [['REGION', 'KIND', 'NAME', 'QUEUED', 'RETRYING', 'DELIVERED', 'RETRIED', 'DROPPED', 'LAST ERROR']];
        for (const region of status as { region: string; queued: { kind: string; key: string; queued: number; retrying: number; last_error: string | null }[]; counters: { kind: string; name: string; delivered: number; retried: number; dropped: number }[] }[]) {
          const names = new Set([...region.queued.map((q) => `${q.kind}\0${q.key.replace(/^access-log:/, '')}`), ...region.counters.map((c) => `${c.kind}\0${c.name}`)]);
          for (const n of names) {
            const [kind, name] = n.split('\0');
            const q = region.queued.find((x) => x.kind === kind && x.key.replace(/^access-log:/, '') === name);
            const c = region.counters.find((x) => x.kind === kind && x.name === name);
            rows.push([region.region, kind, name, String(q?.queued ?? 0), String(q?.retrying ?? 0), String(c?.delivered ?? 0), String(c?.retried ?? 0), String(c?.dropped ?? 0), q?.last_error ?? '']);
          }
        }
        out.write(table(rows));
      }
      return 0;
    }
    const [sub, name] = args;
    if (sub === 'create') {
      if (!name) throw new TopicError('usage: strata topic create NAME --org ORG --push-endpoint URL');
      const { result, topic } = await createTopic(stores.regions, config.defaultRegion, {
        name,
        organisation: flags.org,
        region: flags.region,
        'push-endpoint': flags['push-endpoint'] ?? flags.endpoint,
        secret: flags.secret,
        OpaqueData: flags['opaque-data'],
      });
      out.write(`topic ${topic.arn} ${result}\n`);
      return 0;
    }
    if (sub === 'list') {
      const topics = await listTopics(stores.regions, flags.org);
      if (json) out.write(JSON.stringify(topics, null, 2) + '\n');
      else out.write(table([['ARN', 'PUSH-ENDPOINT', 'SIGNED'], ...topics.map((t) => [String(t.arn), String(t['push-endpoint']), t.signed ? 'yes' : 'no'])]));
      return 0;
    }
    if (sub === 'delete') {
      if (!name || !flags.org) throw new TopicError('usage: strata topic delete NAME --org ORG [--region R]');
      const deleted = await deleteTopic(stores.regions, flags.region ?? config.defaultRegion, flags.org, name);
      out.write(deleted ? `topic "${name}" deleted\n` : `topic "${name}" not found\n`);
      return deleted ? 0 : 1;
    }
    throw new TopicError(`usage:${topicUsage}`);
  } catch (err) {
    if (err instanceof TopicError) {
      process.stderr.write(`strata: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await stores.close();
  }
}
