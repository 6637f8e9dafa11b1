// The Object Storage page: the seed's tokens (Users: one access key each) with their keys,
// access levels and an s3cmd configuration per region.
import { useEffect, useState } from 'preact/hooks';
import { call, downloadAttachment, type WhoAmI } from './api.ts';
import { Banner, Choice, CopyField, Modal, levelLabels } from './components.tsx';

interface UserObject {
  metadata: { name: string; namespace: string; creationTimestamp: string };
  spec: { owner: string; access: string; secretName: string };
  status: { defaultRegion?: string };
}
interface SecretObject {
  metadata: { name: string; namespace: string };
  data: { accessKey: string; secretKey: string };
}
/** GET /v1/info (ServerInfo in src/admin/backend.ts, restated for the same reason as TokenView in api-access.tsx). */
export interface ServerInfo {
  regions: string[];
  defaultRegion: string;
  baseDomain: string;
  s3Port: number;
}
interface Row {
  user: UserObject;
  accessKey: string;
  secretKey: string;
}

const levels = ['read', 'write', 'readwrite', 'full'];

export function ObjectStorage(props: { who: WhoAmI; info: ServerInfo }) {
  const [rows, setRows] = useState<Row[] | undefined>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ row: Row; region: string }>();
  const [downloadFor, setDownloadFor] = useState<Row>();

  const load = async () => {
    try {
      const [users, secrets] = await Promise.all([call<{ items: UserObject[] }>('GET', '/v1/users'), call<{ items: SecretObject[] }>('GET', '/v1/secrets')]);
      const bySecret = new Map(secrets.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
      setRows(
        users.items.map((u) => {
          const s = bySecret.get(`${u.metadata.namespace}/${u.spec.secretName}`);
          return { user: u, accessKey: s ? atob(s.data.accessKey) : '', secretKey: s ? atob(s.data.secretKey) : '' };
        }),
      );
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => void load(), []);

  const changeLevel = async (row: Row, access: string) => {
    setError(undefined);
    const u = row.user;
    try {
      await call('POST', '/v1/users', {
        apiVersion: 'objectstorage.coreweave.com/v1alpha1',
        kind: 'User',
        metadata: { name: u.metadata.name, namespace: u.metadata.namespace },
        spec: { owner: u.spec.owner, access, secretName: u.spec.secretName },
      });
      await load();
      setNotice(`"${u.metadata.name}" now has ${levelLabels[access]} access`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const remove = async (row: Row) => {
    const u = row.user;
    if (!confirm(`Delete token "${u.metadata.name}" (namespace ${u.metadata.namespace})? Its keys stop working; buckets and objects stay.`)) return;
    setError(undefined);
    try {
      await call('DELETE', `/v1/users/${encodeURIComponent(u.metadata.namespace)}/${encodeURIComponent(u.metadata.name)}`);
      await load();
      setNotice(`token "${u.metadata.name}" deleted`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <div class="title">
        <h1>Object Storage</h1>
        <button class="primary" onClick={() => setCreating(true)}>
          Create a New Token
        </button>
      </div>
      <p class="hint">
        A token is a key pair for s3cmd, s5cmd, rclone, Boto3 and the aws CLI. Endpoints: {props.info.regions.map((r) => `object.${r}.${props.info.baseDomain}:${props.info.s3Port}`).join(', ')}.
      </p>
      <Banner text={error} />
      <Banner kind="info" text={notice} />
      {rows === undefined ? (
        <p>Loading…</p>
      ) : rows.length === 0 ? (
        <p class="empty">No tokens yet.</p>
      ) : (
        <table class="tokens">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Organisation</th>
              <th>Keys</th>
              <th>Access level</th>
              <th>Default region</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.user.metadata.namespace}/${row.user.metadata.name}`} data-token={row.user.metadata.name}>
                <td>{row.user.metadata.name}</td>
                <td>{row.user.metadata.namespace}</td>
                <td>{row.user.spec.owner}</td>
                <td>
                  <div class="keys">
                    <CopyField label="access key" value={row.accessKey} />
                    <CopyField label="secret key" value={row.secretKey} secret />
                  </div>
                </td>
                <td>
                  <Choice name="level" ariaLabel="Access level" value={row.user.spec.access} options={levels} labels={levelLabels} onChange={(l) => void changeLevel(row, l)} />
                </td>
                <td class="default-region">{row.user.status.defaultRegion ?? '—'}</td>
                <td class="nowrap" title={row.user.metadata.creationTimestamp}>{row.user.metadata.creationTimestamp.slice(0, 10)}</td>
                <td class="actions">
                  <button class="icon" title="Download s3cmd configuration" aria-label="Download s3cmd configuration" onClick={() => setDownloadFor(row)}>
                    s3cmd
                  </button>
                  <button class="icon danger" title="Delete token" aria-label="Delete token" onClick={() => void remove(row)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateToken
          who={props.who}
          info={props.info}
          onClose={() => setCreating(false)}
          onCreated={(row, region) => {
            setCreating(false);
            setCreated({ row, region });
            void load();
          }}
        />
      )}
      {created && <CreatedToken row={created.row} region={created.region} info={props.info} onClose={() => setCreated(undefined)} />}
      {downloadFor && <S3cmdDownload row={downloadFor} info={props.info} onClose={() => setDownloadFor(undefined)} />}
    </section>
  );
}

function CreateToken(props: { who: WhoAmI; info: ServerInfo; onClose: () => void; onCreated: (row: Row, region: string) => void }) {
  const scoped = !props.who.orgAdmin;
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState(scoped ? props.who.namespaces[0] : 'default');
  const [owner, setOwner] = useState('');
  const [region, setRegion] = useState(props.info.defaultRegion);
  const [access, setAccess] = useState('full');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
      setError('The name must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit.');
      return;
    }
    setBusy(true);
    try {
      const r = await call<{ user: UserObject; accessKey: string; secretKey: string }>('POST', '/keys', { name, namespace, owner: owner || namespace, access, region });
      props.onCreated({ user: r.user, accessKey: r.accessKey, secretKey: r.secretKey }, region);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title="Create Token" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} autoFocus required />
        </label>
        <label>
          Namespace
          {scoped ? (
            <Choice name="namespace" value={namespace} options={props.who.namespaces} onChange={setNamespace} />
          ) : (
            <input name="namespace" value={namespace} onInput={(e) => setNamespace((e.target as HTMLInputElement).value)} required />
          )}
        </label>
        <label>
          Organisation (owner of the buckets; defaults to the namespace)
          <input name="owner" value={owner} placeholder={namespace} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Default region
          <Choice name="region" value={region} options={props.info.regions} onChange={setRegion} />
        </label>
        <label>
          Access level
          <Choice name="access" value={access} options={levels} labels={levelLabels} onChange={setAccess} />
        </label>
        <Banner text={error} />
        <footer>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy}>
            Create
          </button>
        </footer>
      </form>
    </Modal>
  );
}

function CreatedToken(props: { row: Row; region: string; info: ServerInfo; onClose: () => void }) {
  const u = props.row.user;
  return (
    <Modal title={`Token "${u.metadata.name}" created`} onClose={props.onClose}>
      <dl class="keys">
        <dt>Access key</dt>
        <dd>
          <CopyField label="access key" value={props.row.accessKey} />
        </dd>
        <dt>Secret key</dt>
        <dd>
          <CopyField label="secret key" value={props.row.secretKey} />
        </dd>
      </dl>
      <p class="hint">Both keys stay available on this page. Access level: {levelLabels[u.spec.access]}.</p>
      <S3cmdForm row={props.row} info={props.info} region={props.region} />
    </Modal>
  );
}

function S3cmdDownload(props: { row: Row; info: ServerInfo; onClose: () => void }) {
  return (
    <Modal title={`s3cmd configuration for "${props.row.user.metadata.name}"`} onClose={props.onClose}>
      <S3cmdForm row={props.row} info={props.info} region={props.row.user.status.defaultRegion ?? props.info.defaultRegion} />
    </Modal>
  );
}

/** Region picker and endpoint options; the file itself is the one `strata s3cmd-config` writes. */
function S3cmdForm(props: { row: Row; info: ServerInfo; region: string }) {
  const [region, setRegion] = useState(props.region);
  const [endpoint, setEndpoint] = useState('');
  const [pathStyle, setPathStyle] = useState(false);
  const u = props.row.user;
  const q = new URLSearchParams({ namespace: u.metadata.namespace, name: u.metadata.name, region });
  if (endpoint.trim()) q.set('endpoint', endpoint.trim());
  if (pathStyle) q.set('pathStyle', '1');
  const [error, setError] = useState<string>();
  const download = async () => {
    setError(undefined);
    try {
      await downloadAttachment(`/s3cmd?${q}`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class="s3cmd">
      <label>
        S3 region
        <Choice name="s3cmd-region" value={region} options={props.info.regions} onChange={setRegion} />
      </label>
      <label>
        Endpoint (optional host:port, when object.{region}.{props.info.baseDomain} does not resolve)
        <input name="s3cmd-endpoint" value={endpoint} placeholder={`object.${region}.${props.info.baseDomain}:${props.info.s3Port}`} onInput={(e) => setEndpoint((e.target as HTMLInputElement).value)} />
      </label>
      <label class="check">
        <input type="checkbox" name="s3cmd-path-style" checked={pathStyle} onChange={(e) => setPathStyle((e.target as HTMLInputElement).checked)} /> Path-style addressing
      </label>
      <Banner text={error} />
      <button class="primary" type="button" onClick={() => void download()}>
        Download s3cmd config
      </button>
    </div>
  );
}
