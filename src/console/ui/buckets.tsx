// The Buckets page: per region, the organisations' buckets with size, object count, public or
// private state and settings, usage against each organisation's quota; a bucket opens the
// browser (bucket-browser.tsx).
import { useEffect, useState } from 'preact/hooks';
import { call, formatBytes, s3, s3Path, type WhoAmI } from './api.ts';
import { Banner, Choice, UsageBar } from './components.tsx';
import { BucketBrowser } from './bucket-browser.tsx';
import type { RegionView } from '../views.ts';

export function Buckets(props: { who: WhoAmI; initialRegion?: string }) {
  const [regions, setRegions] = useState<RegionView[]>();
  const [region, setRegion] = useState<string | undefined>(props.initialRegion);
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState<string>();
  const [newName, setNewName] = useState('');
  const [newOrg, setNewOrg] = useState(props.who.orgAdmin ? 'default' : props.who.namespaces[0]);

  const load = async () => {
    try {
      const r = (await call<{ regions: RegionView[] }>('GET', '/buckets')).regions;
      setRegions(r);
      setRegion((cur) => cur ?? r[0]?.region);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => void load(), []);

  if (!regions || !region) return <section><h1>Buckets</h1><Banner text={error} />{!error && <p>Loading…</p>}</section>;
  const view = regions.find((r) => r.region === region) ?? regions[0];
  const bucket = open ? view.buckets.find((b) => b.name === open) : undefined;
  if (bucket) return <BucketBrowser region={view.region} bucket={bucket} onBack={() => setOpen(undefined)} onChanged={load} />;

  const createBucket = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await s3('PUT', s3Path(view.region, newName.trim()), { headers: { 'x-strata-create-for': newOrg } });
      setNewName('');
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section>
      <div class="title">
        <h1>Buckets</h1>
        <div class="tabs" role="tablist">
          {regions.map((r) => (
            <button role="tab" aria-selected={r.region === view.region} class={r.region === view.region ? 'tab active' : 'tab'} onClick={() => setRegion(r.region)}>
              {r.region}
            </button>
          ))}
        </div>
      </div>
      <p class="hint">Endpoint: {view.endpoint}</p>
      <div class="quotas">
        {view.usage.map((u) => (
          <div class="quota" data-org={u.org}>
            <strong>{u.org}</strong>
            <UsageBar used={u.bytes} total={u.quota} label={`${formatBytes(u.bytes)} of ${formatBytes(u.quota)} (${u.objects} objects)`} />
          </div>
        ))}
      </div>
      <Banner text={error} />
      {view.buckets.length === 0 ? (
        <p class="empty">No buckets in {view.region} yet.</p>
      ) : (
        <table class="buckets">
          <thead>
            <tr>
              <th>Bucket</th>
              <th>Organisation</th>
              <th>Size</th>
              <th>Objects</th>
              <th>Access</th>
              <th>Versioning</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {view.buckets.map((b) => (
              <tr data-bucket={b.name}>
                <td>
                  <a href="#" onClick={(e) => (e.preventDefault(), setOpen(b.name))}>
                    {b.name}
                  </a>
                </td>
                <td>{b.owner}</td>
                <td>{formatBytes(b.bytes)}</td>
                <td>{b.objects}</td>
                <td>
                  <span class={b.public ? 'badge public' : 'badge private'} title={b.public ? `public through its ${b.publicBy.join(' and ')}` : 'only the organisation\u2019s keys'}>
                    {b.public ? 'Public' : 'Private'}
                  </span>
                </td>
                <td>{b.versioning}</td>
                <td>{b.createdAt.slice(0, 10)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="inline" onSubmit={createBucket}>
        <input name="bucket-name" placeholder="new bucket name" value={newName} onInput={(e) => setNewName((e.target as HTMLInputElement).value)} required />
        {props.who.orgAdmin ? (
          <input name="bucket-org" aria-label="organisation" value={newOrg} onInput={(e) => setNewOrg((e.target as HTMLInputElement).value)} />
        ) : (
          <Choice name="bucket-org" ariaLabel="organisation" value={newOrg} options={props.who.namespaces} onChange={setNewOrg} />
        )}
        <button type="submit">Create bucket in {view.region}</button>
      </form>
    </section>
  );
}
