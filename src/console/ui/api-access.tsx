// The API Access page: organisation admins create API tokens for chosen namespaces (or all),
// shown once with a kubeconfig download, and list and revoke them.
import { useEffect, useState } from 'preact/hooks';
import { call, downloadAttachment, type WhoAmI } from './api.ts';
import { Banner, CopyField } from './components.tsx';

/** The admin API's TokenView (src/admin/backend.ts), restated: the page's type check has no Node types to read that file with. */
interface TokenView {
  id: string;
  name: string;
  namespaces: string[];
  createdAt: string;
  createdBy: string;
  status: 'active' | 'revoked';
  revokedAt?: string;
}

export function ApiAccess(props: { who: WhoAmI; kubeconfig: boolean }) {
  const [tokens, setTokens] = useState<TokenView[]>();
  const [known, setKnown] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [name, setName] = useState('');
  const [all, setAll] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [extra, setExtra] = useState('');
  const [created, setCreated] = useState<TokenView & { token: string }>();

  const load = async () => {
    try {
      setTokens((await call<{ items: TokenView[] }>('GET', '/v1/tokens')).items);
      const users = await call<{ items: { metadata: { namespace: string } }[] }>('GET', '/v1/users');
      setKnown([...new Set(users.items.map((u) => u.metadata.namespace))].sort());
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => void load(), []);

  if (!props.who.orgAdmin) {
    return (
      <section>
        <h1>API Access</h1>
        <Banner text="Only organisation-admin tokens (all namespaces) may create, list or revoke API tokens. Sign in with one to manage tokens." />
      </section>
    );
  }

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setCreated(undefined);
    const namespaces = all ? '*' : [...chosen, ...extra.split(',').map((s) => s.trim()).filter(Boolean)];
    if (namespaces !== '*' && namespaces.length === 0) {
      setError('Choose at least one namespace, or "All namespaces".');
      return;
    }
    try {
      setCreated(await call('POST', '/v1/tokens', { name, namespaces }));
      setName('');
      setChosen([]);
      setExtra('');
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const revoke = async (t: TokenView) => {
    if (!confirm(`Revoke API token "${t.name || t.id}"? Anything using it stops working.`)) return;
    setError(undefined);
    try {
      const { message } = await call<{ message: string }>('DELETE', `/v1/tokens/${encodeURIComponent(t.id)}`);
      await load();
      setNotice(message);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section>
      <h1>API Access</h1>
      <form class="card" onSubmit={create}>
        <h2>Create an API token</h2>
        <label>
          Token name (optional, recommended)
          <input name="token-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label class="check">
          <input type="checkbox" name="all-namespaces" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> All namespaces (an organisation-admin token)
        </label>
        {!all && (
          <fieldset>
            <legend>Namespaces</legend>
            {known.map((ns) => (
              <label class="check">
                <input
                  type="checkbox"
                  name={`ns-${ns}`}
                  checked={chosen.includes(ns)}
                  onChange={(e) => setChosen((e.target as HTMLInputElement).checked ? [...chosen, ns] : chosen.filter((c) => c !== ns))}
                />{' '}
                {ns}
              </label>
            ))}
            <label>
              Other namespaces (comma-separated)
              <input name="other-namespaces" value={extra} onInput={(e) => setExtra((e.target as HTMLInputElement).value)} />
            </label>
          </fieldset>
        )}
        <Banner text={error} />
        <button class="primary" type="submit">
          Create token
        </button>
      </form>
      {created && (
        <div class="card created" role="status">
          <h2>Token "{created.name || created.id}" created</h2>
          <p>This is the only time the token is shown. Copy it now.</p>
          <CopyField label="API token" value={created.token} />
          {props.kubeconfig ? (
            <KubeconfigDownload token={created.token} namespaces={created.namespaces} known={known} />
          ) : (
            <p class="hint">This admin listener has no TLS, so kubectl cannot use the token here; use it with the admin API (Authorization: Bearer …) or `strata --server URL --token TOKEN`.</p>
          )}
        </div>
      )}
      <Banner kind="info" text={notice} />
      <h2>Tokens</h2>
      {tokens === undefined ? (
        <p>Loading…</p>
      ) : (
        <table class="api-tokens">
          <thead>
            <tr>
              <th>ID</th>
              <th>Name</th>
              <th>Namespaces</th>
              <th>Created</th>
              <th>By</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id} data-api-token={t.id}>
                <td>
                  <code>{t.id}</code>
                </td>
                <td>{t.name}</td>
                <td>{t.namespaces.join(', ') === '*' ? 'all' : t.namespaces.join(', ')}</td>
                <td>{t.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</td>
                <td>{t.createdBy}</td>
                <td>{t.status}{t.id === props.who.id ? ' (this session)' : ''}</td>
                <td>
                  {t.status === 'active' && (
                    <button class="danger" onClick={() => void revoke(t)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The kubeconfig of the token just created, for a chosen default namespace. The page sends the
 * token back to the server for this (src/console/kubeconfig.ts), which writes the file the way
 * `strata kubeconfig` does and keeps nothing; the token stays in this component's memory only.
 */
function KubeconfigDownload(props: { token: string; namespaces: string[]; known: string[] }) {
  const scoped = props.namespaces.length > 0 && !props.namespaces.includes('*');
  const [namespace, setNamespace] = useState(scoped ? props.namespaces[0] : 'default');
  const [error, setError] = useState<string>();
  const download = async () => {
    setError(undefined);
    try {
      await downloadAttachment('/kubeconfig', { method: 'POST', body: { token: props.token, namespace } });
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class="kubeconfig">
      <p class="hint">
        A kubeconfig for kubectl (the Kubernetes API under /k8s on this port, over TLS): <code>kubectl --kubeconfig FILE get users.objectstorage.coreweave.com</code>.
      </p>
      <label>
        Default namespace
        {scoped ? (
          <select name="kubeconfig-namespace" value={namespace} onChange={(e) => setNamespace((e.target as HTMLSelectElement).value)}>
            {props.namespaces.map((ns) => (
              <option value={ns}>{ns}</option>
            ))}
          </select>
        ) : (
          <>
            <input name="kubeconfig-namespace" list="kubeconfig-namespaces" value={namespace} onInput={(e) => setNamespace((e.target as HTMLInputElement).value)} />
            <datalist id="kubeconfig-namespaces">
              {props.known.map((ns) => (
                <option value={ns} />
              ))}
            </datalist>
          </>
        )}
      </label>
      <Banner text={error} />
      <button class="primary" type="button" onClick={() => void download()}>
        Download kubeconfig
      </button>
    </div>
  );
}
