// Quota and usage administration from the CLI, on the data root (works while the server runs:
// SQLite WAL lets both open the region databases; changes apply to the next request).
//   strata usage [--org ORG] [--region R]         usage per organisation and region, and what each paid as a requester
//   strata usage check [--repair]                  recount usage from the metadata and report differences
//   strata quota get ORG [--region R]             the quota in force
//   strata quota set ORG SIZE [--region R]        set a quota (SIZE: bytes, or 500GB, 30TiB, ...)
//   strata quota reset ORG [--region R]           back to the configured default
import { loadConfig, type StrataConfig } from '../config.ts';
import { openRegionStores } from '../store/open.ts';
import type { RegionStore } from '../store/region-store.ts';
import { parseByteSize, quotaLimit } from './quota.ts';

function regionsOf(config: StrataConfig, flags: Record<string, string>): string[] {
  if (!flags.region) return config.regions;
  if (!config.regions.includes(flags.region)) throw new Error(`unknown region "${flags.region}" (regions: ${config.regions.join(', ')})`);
  return [flags.region];
}

async function withStores(config: StrataConfig, regions: string[], fn: (store: RegionStore) => Promise<unknown>): Promise<void> {
  // No recover() here: the running server may have uploads in flight in the same data root.
  const stores = await openRegionStores({ ...config, regions });
  try {
    for (const store of stores.regions.values()) await fn(store);
  } finally {
    await stores.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()).join('\n') + '\n';
}

export async function runQuotaCommand(command: string, args: string[], flags: Record<string, string>): Promise<number | undefined> {
  if (command !== 'usage' && command !== 'quota') return undefined;
  const config = loadConfig({ flags: Object.fromEntries(Object.entries(flags).filter(([k]) => k === 'data-dir' || k === 'config' || k === 'regions')) });
  const regions = regionsOf(config, flags);
  const out = process.stdout;
  try {
    if (command === 'usage' && args[0] === 'check') {
      let differences = 0;
      await withStores(config, regions, async (store) => {
        for (const d of await store.checkUsage(flags.repair === 'true')) {
          differences++;
          out.write(`${store.name} ${d.org}: recorded ${d.recorded.bytes} bytes / ${d.recorded.objects} objects, counted ${d.counted.bytes} bytes / ${d.counted.objects} objects${flags.repair === 'true' ? ' (repaired)' : ''}\n`);
        }
      });
      out.write(differences === 0 ? 'usage consistent: recorded counters match the metadata\n' : `${differences} difference(s)\n`);
      return differences === 0 || flags.repair === 'true' ? 0 : 1;
    }
    if (command === 'usage') {
      const rows = [['REGION', 'ORGANISATION', 'BYTES', 'OBJECTS', 'QUOTA (BYTES)', 'USED']];
      await withStores(config, regions, async (store) => {
        for (const u of await store.allUsage()) {
          if (flags.org && u.org !== flags.org) continue;
          const limit = u.quota ?? config.defaultQuotaBytes;
          rows.push([store.name, u.org, String(u.bytes), String(u.objects), String(limit), `${((100 * u.bytes) / limit).toFixed(2)}%`]);
        }
      });
      out.write(table(rows));
      // What organisations paid for as requesters (requester-pays buckets): shown when there is any.
      const charges = [['REGION', 'PAYER', 'BUCKET', 'OWNER', 'REQUESTS', 'BYTES IN', 'BYTES OUT']];
      await withStores(config, regions, async (store) => {
        for (const c of await store.requesterCharges()) {
          if (flags.org && c.payerOrg !== flags.org) continue;
          charges.push([store.name, c.payerOrg, c.bucket, c.ownerOrg, String(c.requests), String(c.bytesIn), String(c.bytesOut)]);
        }
      });
      if (charges.length > 1) out.write('\nPaid as requester (requester-pays buckets):\n' + table(charges));
      return 0;
    }
    const [action, org, size] = args;
    if (!org || !['get', 'set', 'reset'].includes(action)) {
      process.stderr.write('usage: strata quota get|set|reset ORG [SIZE] [--region R]\n');
      return 2;
    }
    if (action === 'set') {
      if (!size) throw new Error('quota set needs a SIZE (bytes, or e.g. 500GB, 30TiB)');
      const bytes = parseByteSize(size);
      await withStores(config, regions, (store) => store.setQuota(org, bytes));
      out.write(`quota for ${org} set to ${bytes} bytes in ${regions.join(', ')}\n`);
      return 0;
    }
    if (action === 'reset') {
      await withStores(config, regions, (store) => store.setQuota(org, null));
      out.write(`quota for ${org} reset to the default (${config.defaultQuotaBytes} bytes) in ${regions.join(', ')}\n`);
      return 0;
    }
    await withStores(config, regions, async (store) => out.write(`${store.name} ${org} ${await quotaLimit(store, org, config.defaultQuotaBytes)} bytes\n`));
    return 0;
  } catch (err) {
    process.stderr.write(`strata ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}
