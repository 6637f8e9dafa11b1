// One bucket: prefixes as folders, objects with download and delete, uploads with progress,
// the bucket policy editor and the bucket's settings. Everything is S3 through the server
// (src/console/s3-proxy.ts), so the answers, including MalformedPolicy, are the S3 server's.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, formatBytes, s3, s3Path, upload } from './api.ts';
import { Banner } from './components.tsx';
import type { BucketView } from '../views.ts';

interface Listing {
  folders: string[];
  objects: { key: string; size: number; lastModified: string }[];
  next?: string;
}

function parseListing(xml: string): Listing {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const text = (el: Element, tag: string) => el.getElementsByTagName(tag)[0]?.textContent ?? '';
  return {
    folders: [...doc.getElementsByTagName('CommonPrefixes')].map((p) => text(p, 'Prefix')),
    objects: [...doc.getElementsByTagName('Contents')].map((c) => ({ key: text(c, 'Key'), size: Number(text(c, 'Size')), lastModified: text(c, 'LastModified') })),
    next: doc.getElementsByTagName('NextContinuationToken')[0]?.textContent ?? undefined,
  };
}

interface UploadState {
  id: string;
  name: string;
  loaded: number;
  total: number;
  done: boolean;
  error?: string;
}

const publicReadTemplate = (bucket: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [`arn:aws:s3:::${bucket}/*`] }] }, null, 2);

export function BucketBrowser(props: { region: string; bucket: BucketView; onBack: () => void; onChanged: () => Promise<void> }) {
  const { region } = props;
  const name = props.bucket.name;
  const [prefix, setPrefix] = useState('');
  const [listing, setListing] = useState<Listing>();
  const [error, setError] = useState<string>();
  const [uploads, setUploads] = useState<UploadState[]>([]);

  const list = async (p: string, token?: string) => {
    setError(undefined);
    try {
      const q = new URLSearchParams({ 'list-type': '2', delimiter: '/', prefix: p });
      if (token) q.set('continuation-token', token);
      const page = parseListing(await s3('GET', `${s3Path(region, name)}?${q}`));
      setListing((cur) => (token && cur ? { folders: [...cur.folders, ...page.folders], objects: [...cur.objects, ...page.objects], next: page.next } : page));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => void list(prefix), [prefix]);

  const onFiles = async (files: FileList | null) => {
    if (!files) return;
    for (const file of [...files]) {
      const id = `${Date.now()}-${Math.random()}`;
      setUploads((u) => [...u, { id, name: file.name, loaded: 0, total: file.size, done: false }]);
      const update = (patch: Partial<UploadState>) => setUploads((u) => u.map((x) => (x.id === id ? { ...x, ...patch } : x)));
      try {
        await upload(s3Path(region, name, prefix + file.name), file, (loaded, total) => update({ loaded, total }));
        update({ done: true, loaded: file.size });
      } catch (e) {
        update({ error: (e as Error).message });
      }
    }
    await list(prefix);
    await props.onChanged();
  };

  const remove = async (key: string) => {
    if (!confirm(`Delete ${key}?`)) return;
    try {
      await s3('DELETE', s3Path(region, name, key));
      await list(prefix);
      await props.onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const crumbs = prefix.split('/').filter(Boolean);
  return (
    <section>
      <div class="title">
        <h1>
          <a href="#" onClick={(e) => (e.preventDefault(), props.onBack())}>
            Buckets
          </a>{' '}
          / {name}
        </h1>
        <span class={props.bucket.public ? 'badge public' : 'badge private'} data-state>
          {props.bucket.public ? `Public (${props.bucket.publicBy.join(', ')})` : 'Private'}
        </span>
      </div>
      <p class="hint">
        Region {region} · organisation {props.bucket.owner} · {formatBytes(props.bucket.bytes)} in {props.bucket.objects} objects
      </p>
      <nav class="crumbs" aria-label="Folder">
        <a href="#" onClick={(e) => (e.preventDefault(), setPrefix(''))}>
          {name}
        </a>
        {crumbs.map((c, i) => (
          <>
            {' / '}
            <a href="#" onClick={(e) => (e.preventDefault(), setPrefix(crumbs.slice(0, i + 1).join('/') + '/'))}>
              {c}
            </a>
          </>
        ))}
      </nav>
      <Banner text={error} />
      <label class="button">
        Upload files
        <input type="file" name="upload" multiple hidden onChange={(e) => void onFiles((e.target as HTMLInputElement).files)} />
      </label>
      {uploads.length > 0 && (
        <ul class="uploads">
          {uploads.map((u) => (
            <li key={u.id} data-upload={u.name}>
              {u.name}{' '}
              <progress max={u.total || 1} value={u.loaded} /> {u.error ? <span class="error">{u.error}</span> : u.done ? 'done' : `${Math.round((u.loaded / (u.total || 1)) * 100)}%`}
            </li>
          ))}
        </ul>
      )}
      {listing === undefined ? (
        <p>Loading…</p>
      ) : (
        <table class="objects">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>Last modified</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {listing.folders.map((f) => (
              <tr data-folder={f}>
                <td>
                  <a href="#" onClick={(e) => (e.preventDefault(), setPrefix(f))}>
                    {f.slice(prefix.length)}
                  </a>
                </td>
                <td />
                <td />
                <td />
              </tr>
            ))}
            {listing.objects.map((o) => (
              <tr data-key={o.key}>
                <td>{o.key.slice(prefix.length)}</td>
                <td>{formatBytes(o.size)}</td>
                <td>{o.lastModified.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</td>
                <td class="actions">
                  <a class="button" href={s3Path(region, name, o.key)} download={o.key.slice(o.key.lastIndexOf('/') + 1)}>
                    Download
                  </a>
                  <button class="danger" onClick={() => void remove(o.key)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {listing.folders.length === 0 && listing.objects.length === 0 && (
              <tr>
                <td colSpan={4} class="empty">
                  Nothing here yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {listing?.next && <button onClick={() => void list(prefix, listing.next)}>Load more</button>}
      <PolicyEditor region={region} bucket={name} onSaved={props.onChanged} />
      <Settings region={region} bucket={props.bucket} />
    </section>
  );
}

function PolicyEditor(props: { region: string; bucket: string; onSaved: () => Promise<void> }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const path = `${s3Path(props.region, props.bucket)}?policy`;
  useEffect(() => {
    s3('GET', path).then(
      (t) => setText(JSON.stringify(JSON.parse(t), null, 2)),
      (e: ApiError) => (e.code === 'NoSuchBucketPolicy' ? setText('') : setError(e.message)),
    );
  }, [path]);

  const save = async () => {
    setError(undefined);
    setNotice(undefined);
    // Checked here first only for JSON syntax; the server validates the policy itself.
    try {
      JSON.parse(text);
    } catch (e) {
      setError(`The policy is not valid JSON: ${(e as Error).message}`);
      return;
    }
    try {
      await s3('PUT', path, { body: text, contentType: 'application/json' });
      setNotice('Policy saved.');
      await props.onSaved();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const remove = async () => {
    setError(undefined);
    try {
      await s3('DELETE', path);
      setText('');
      setNotice('Policy deleted.');
      await props.onSaved();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div class="card policy">
      <h2>Bucket policy</h2>
      <textarea name="policy" rows={12} spellcheck={false} value={text} placeholder="No policy: only the organisation's keys have access." onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <Banner text={error} />
      <Banner kind="info" text={notice} />
      <div class="row">
        <button type="button" onClick={() => setText(publicReadTemplate(props.bucket))}>
          Public-read template
        </button>
        <button class="primary" type="button" onClick={() => void save()}>
          Validate and save
        </button>
        <button class="danger" type="button" onClick={() => void remove()}>
          Delete policy
        </button>
      </div>
    </div>
  );
}

/** The element whose presence in a GET ?<sub-resource> answer means the setting is in use. */
const configuredBy: Record<string, string> = { lifecycle: 'Rule', cors: 'CORSRule', logging: 'LoggingEnabled', website: 'IndexDocument' };

function describeSetting(sub: string, xml: string, element: string): string {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const n = doc.getElementsByTagName(element).length;
  if (sub === 'website') {
    const redirect = doc.getElementsByTagName('RedirectAllRequestsTo').length > 0;
    if (redirect) return 'redirects all requests';
    return n > 0 ? `index document ${doc.getElementsByTagName('Suffix')[0]?.textContent ?? ''}` : 'none';
  }
  if (n === 0) return 'none';
  return sub === 'logging' ? 'enabled' : `${n} rule${n === 1 ? '' : 's'}`;
}

/** A setting's state: from the overview when Strata keeps it, else asked of S3 (absent features say so). */
function Settings(props: { region: string; bucket: BucketView }) {
  const [extra, setExtra] = useState<Record<string, string>>({});
  useEffect(() => {
    for (const [sub, element] of Object.entries(configuredBy)) {
      s3('GET', `${s3Path(props.region, props.bucket.name)}?${sub}`).then(
        (xml) => setExtra((x) => ({ ...x, [sub]: describeSetting(sub, xml, element) })),
        (e: ApiError) => setExtra((x) => ({ ...x, [sub]: e.code === 'NotImplemented' ? 'not supported by this server' : e.code.startsWith('NoSuch') ? 'none' : e.message })),
      );
    }
  }, [props.bucket.name]);
  const b = props.bucket;
  return (
    <div class="card settings">
      <h2>Settings</h2>
      <dl>
        <dt>Versioning</dt>
        <dd>{b.versioning}</dd>
        <dt>Transfer acceleration</dt>
        <dd>{b.accelerate === 'Off' ? 'Enabled (default)' : b.accelerate}</dd>
        <dt>Requester pays</dt>
        <dd>{b.requestPayment === 'Requester' ? 'Requester' : 'Bucket owner'}</dd>
        <dt>Block public access</dt>
        <dd>{b.publicAccessBlock ? 'On' : 'Off'}</dd>
        <dt>Lifecycle</dt>
        <dd>{extra.lifecycle ?? '…'}</dd>
        <dt>CORS</dt>
        <dd>{extra.cors ?? '…'}</dd>
        <dt>Logging</dt>
        <dd>{extra.logging ?? '…'}</dd>
        <dt>Static website</dt>
        <dd>{extra.website ?? '…'}</dd>
      </dl>
    </div>
  );
}
