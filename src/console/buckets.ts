// The Buckets page's overview: per region, the buckets of the organisations the token may see,
// with their sizes and object counts, each organisation's usage against its quota there, and
// each bucket's public/private state and the settings Strata has (versioning, acceleration,
// requester pays, public access block). Read straight from the region stores (counters and
// bucket records, no S3 request); what the page changes goes through s3-proxy.ts.
import type { Services } from '../ops/operation.ts';
import { isUnrestricted, scopeDecision, type Scope } from '../identity/admin-scope.ts';
import { isPublicPolicy } from '../policy/public.ts';
import { isPublicAcl } from '../ops/acl-util.ts';
import { quotaLimit } from '../quota/quota.ts';
import type { BucketRecord } from '../store/types.ts';
import type { BucketView, RegionView } from './views.ts';

/** Public as AWS's console shows it: a public policy or ACL the bucket's public access block does not neutralise. */
function publicState(b: BucketRecord): string[] {
  const block = b.config?.publicAccessBlock;
  const by: string[] = [];
  if (b.policy && !block?.restrictPublicBuckets && isPublicPolicy(b.policy)) by.push('policy');
  if (b.acl && !block?.ignorePublicAcls && isPublicAcl(b.acl)) by.push('acl');
  return by;
}

function orgVisible(scope: Scope, org: string): boolean {
  return scopeDecision(scope, { kind: 'organisation', org }) === 'allowed';
}

export async function bucketOverview(services: Services, scope: Scope, s3Port: number): Promise<RegionView[]> {
  const { config } = services;
  const views: RegionView[] = [];
  for (const [region, store] of services.regions) {
    const buckets = (await store.listBuckets()).filter((b) => orgVisible(scope, b.ownerOrg));
    const orgs = new Set(buckets.map((b) => b.ownerOrg));
    // Organisations with usage but no bucket left (unfinished uploads) count too; a scoped token
    // also sees its own organisations at zero.
    for (const u of await store.allUsage()) if (orgVisible(scope, u.org)) orgs.add(u.org);
    if (!isUnrestricted(scope)) for (const ns of scope!) orgs.add(ns);
    const usage = [];
    for (const org of [...orgs].sort()) {
      const used = await store.usageOf(org);
      usage.push({ org, ...used, quota: await quotaLimit(store, org, config.defaultQuotaBytes) });
    }
    const rows: BucketView[] = [];
    for (const b of buckets) {
      const stats = await store.meta.bucketStats(b.name);
      const by = publicState(b);
      rows.push({
        name: b.name,
        owner: b.ownerOrg,
        createdAt: new Date(b.createdAt).toISOString(),
        bytes: Number(stats.bytes),
        objects: Number(stats.objects),
        public: by.length > 0,
        publicBy: by,
        hasPolicy: b.policy !== null,
        versioning: b.config?.versioning ?? 'Off',
        accelerate: b.config?.accelerate ?? 'Off',
        requestPayment: b.config?.requestPayment ?? 'BucketOwner',
        publicAccessBlock: b.config?.publicAccessBlock !== undefined && Object.values(b.config.publicAccessBlock).some(Boolean),
      });
    }
    rows.sort((a, b) => (a.name < b.name ? -1 : 1));
    views.push({ region, endpoint: `object.${region}.${config.baseDomain}:${s3Port}`, usage, buckets: rows });
  }
  return views;
}
