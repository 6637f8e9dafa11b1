// The Strata console: sign in with an admin API token, then the Object Storage, API Access and
// Buckets pages (chosen by the URL's #fragment). Served and bundled by src/console/assets.ts.
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, setSession, whenSessionLost, type SessionInfo } from './api.ts';
import { Banner } from './components.tsx';
import { ObjectStorage, type ServerInfo } from './object-storage.tsx';
import { ApiAccess } from './api-access.tsx';
import { Buckets } from './buckets.tsx';

const pages = [
  { id: 'object-storage', label: 'Object Storage' },
  { id: 'api-access', label: 'API Access' },
  { id: 'buckets', label: 'Buckets' },
] as const;
type PageId = (typeof pages)[number]['id'];

function currentPage(): PageId {
  const id = location.hash.replace(/^#\/?/, '');
  return (pages.find((p) => p.id === id)?.id ?? 'object-storage') as PageId;
}

function SignIn(props: { message?: string; onSignedIn: (s: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(props.message);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      props.onSignedIn(await call<SessionInfo>('POST', '/session', { token }));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="signin">
      <form class="card" onSubmit={submit}>
        <h1>Strata console</h1>
        <p>Sign in with an organisation-admin or namespace API token (`strata token create`, or the one the server printed at its first start).</p>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} placeholder="sat_…" required autoFocus />
        </label>
        <Banner text={error} />
        <button class="primary" type="submit">
          Sign in
        </button>
      </form>
    </main>
  );
}

function App() {
  const [session, setSessionState] = useState<SessionInfo | undefined>();
  const [checked, setChecked] = useState(false);
  const [lost, setLost] = useState<string>();
  const [info, setInfo] = useState<ServerInfo>();
  const [page, setPage] = useState<PageId>(currentPage());

  const signedIn = (s: SessionInfo | undefined) => {
    setSession(s);
    setSessionState(s);
  };
  useEffect(() => {
    whenSessionLost((message) => {
      signedIn(undefined);
      setLost(message);
    });
    // A reload keeps the session (the cookie); the CSRF token is asked for again.
    fetch('/console/api/session', { credentials: 'same-origin' })
      .then(async (r) => (r.ok ? signedIn((await r.json()) as SessionInfo) : undefined))
      .finally(() => setChecked(true));
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    if (session) call<ServerInfo>('GET', '/v1/info').then(setInfo, () => undefined);
  }, [session]);

  if (!checked) return null;
  if (!session) {
    return (
      <SignIn
        message={lost}
        onSignedIn={(s) => {
          setLost(undefined);
          signedIn(s);
        }}
      />
    );
  }
  const signOut = async () => {
    await fetch('/console/api/session', { method: 'DELETE', credentials: 'same-origin' });
    signedIn(undefined);
  };
  const who = session.whoami;
  return (
    <div class="layout">
      <nav class="menu">
        <div class="brand">Strata</div>
        {pages.map((p) => (
          <a href={`#/${p.id}`} class={p.id === page ? 'active' : ''} aria-current={p.id === page ? 'page' : undefined}>
            {p.label}
          </a>
        ))}
        <div class="who">
          <span title={who.id}>{who.name || who.id}</span>
          <small>{who.orgAdmin ? 'organisation admin' : `namespaces: ${who.namespaces.join(', ')}`}</small>
          <button onClick={() => void signOut()}>Sign out</button>
        </div>
      </nav>
      <main>
        {!info ? (
          <p>Loading…</p>
        ) : page === 'object-storage' ? (
          <ObjectStorage who={who} info={info} />
        ) : page === 'api-access' ? (
          <ApiAccess who={who} kubeconfig={session.features.kubeconfig} />
        ) : (
          <Buckets who={who} />
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
