import { useCallback, useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { api, ApiError, onUnauthenticated, storedKey, storeKey } from './api.js';
import { SessionContext } from './auth.js';
import type { Session } from './auth.js';
import { ErrorBox } from './components.js';
import { Link, match, useLocation } from './router.js';
import type { WhoAmI } from './types.js';
import { OverviewPage } from './pages/overview.js';
import { TasksPage } from './pages/tasks.js';
import { TaskPage } from './pages/task.js';
import { ExecutionsPage } from './pages/executions.js';
import { ExecutionPage } from './pages/execution.js';
import { WorkflowsPage } from './pages/workflows.js';
import { WorkflowPage } from './pages/workflow.js';
import { WorkflowExecutionPage } from './pages/workflow-execution.js';
import { RunEnvironmentsPage } from './pages/run-environments.js';
import { RunEnvironmentPage } from './pages/run-environment.js';
import { EventsPage } from './pages/events.js';

type AuthState = { kind: 'checking' } | { kind: 'signed-out'; error: ApiError | null } | { kind: 'signed-in'; who: WhoAmI };

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/tasks', label: 'Tasks' },
  { to: '/executions', label: 'Executions' },
  { to: '/workflows', label: 'Workflows' },
  { to: '/run-environments', label: 'Run Environments' },
  { to: '/events', label: 'Events' },
];

/**
 * Who the stored key (or a local-only caller) is, asked as soon as the script runs: the answer
 * is on its way while React starts, instead of after the first render.
 */
const initialKey = storedKey();
const initialWho: Promise<WhoAmI | ApiError> = api<WhoAmI>('GET', 'whoami', undefined, initialKey).catch((error: unknown) =>
  error instanceof ApiError ? error : new ApiError(0, 'CLIENT', String(error)),
);

export function App() {
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });

  const check = useCallback(async (key: string | null) => {
    try {
      const who = await api<WhoAmI>('GET', 'whoami', undefined, key);
      storeKey(key);
      setAuth({ kind: 'signed-in', who });
      return null;
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(0, 'CLIENT', String(error));
      return e;
    }
  }, []);

  useEffect(() => {
    void (async () => {
      const key = initialKey;
      const answer = await initialWho;
      if (!(answer instanceof ApiError)) {
        setAuth({ kind: 'signed-in', who: answer });
        return;
      }
      const error = answer;
      // A stored key that no longer works is dropped; without one, sign-in is simply needed.
      if (key) storeKey(null);
      setAuth({ kind: 'signed-out', error: key || error.status !== 401 ? error : null });
    })();
  }, [check]);

  useEffect(
    () =>
      onUnauthenticated((error) => {
        storeKey(null);
        setAuth({ kind: 'signed-out', error });
      }),
    [],
  );

  if (auth.kind === 'checking') return <p className="muted boot">Connecting to Berth…</p>;
  if (auth.kind === 'signed-out') {
    return (
      <SignIn
        error={auth.error}
        onSubmit={async (key) => {
          const error = await check(key);
          if (error) setAuth({ kind: 'signed-out', error });
        }}
      />
    );
  }
  const session: Session = {
    who: auth.who,
    canOperate: auth.who.scope !== 'reporter',
    signOut: () => {
      storeKey(null);
      setAuth({ kind: 'checking' });
      void check(null).then((error) => {
        if (error) setAuth({ kind: 'signed-out', error: error.status === 401 ? null : error });
      });
    },
  };
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

function SignIn({ error, onSubmit }: { error: ApiError | null; onSubmit: (key: string) => Promise<void> }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setProblem('Paste an API key: it looks like berth_1a2b3c4d_… (create one with `berth keys create NAME --scope developer`).');
      return;
    }
    setProblem(null);
    setBusy(true);
    await onSubmit(trimmed);
    setBusy(false);
  };
  return (
    <main className="sign-in">
      <h1>
        <span className="logo" aria-hidden="true" /> Berth
      </h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="sign-in-help">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          autoFocus
        />
        <p id="sign-in-help" className="muted">
          The key stays in this browser tab's session and is sent only to this server. A reporter key sees everything read-only.
        </p>
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorBox error={error} title={error?.status === 401 ? 'This key was not accepted' : 'Could not sign in'} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const { path } = useLocation();
  const who = session.who;
  const section = NAV.slice(1).find((n) => path === n.to || path.startsWith(`${n.to}/`))?.to ?? (path === '/' ? '/' : null);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true" /> Berth
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={section === n.to ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="scope" data-scope={who.scope} title={who.api_key ? `key ${who.api_key.prefix}` : 'local-only mode: no key needed from this machine'}>
            {who.api_key ? `${who.api_key.name} · ${who.scope}` : `local-only · ${who.scope}`}
            {!session.canOperate && ' (read-only)'}
          </span>
          {who.api_key && (
            <button type="button" className="link-button" onClick={session.signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
    </div>
  );
}

function Route({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/') return <OverviewPage />;
  if (match('/tasks', path)) return <TasksPage />;
  if ((m = match('/tasks/:task', path))) return <TaskPage key={m.task} name={m.task!} />;
  if (match('/executions', path)) return <ExecutionsPage />;
  if ((m = match('/executions/:uuid', path))) return <ExecutionPage key={m.uuid} uuid={m.uuid!} />;
  if (match('/workflows', path)) return <WorkflowsPage />;
  if ((m = match('/workflows/:workflow', path))) return <WorkflowPage key={m.workflow} name={m.workflow!} />;
  if ((m = match('/workflow-executions/:uuid', path))) return <WorkflowExecutionPage key={m.uuid} uuid={m.uuid!} />;
  if (match('/run-environments', path)) return <RunEnvironmentsPage />;
  if ((m = match('/run-environments/:name', path))) return <RunEnvironmentPage key={m.name} name={m.name!} />;
  if (match('/events', path)) return <EventsPage />;
  return (
    <div className="empty">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the Overview</Link>.
      </p>
    </div>
  );
}
