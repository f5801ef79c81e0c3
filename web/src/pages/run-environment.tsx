import type { ReactNode } from 'react';
import { api, seg } from '../api.js';
import { useSession } from '../auth.js';
import { Empty, ErrorBox, Fields, Loading, PageHeader, Status } from '../components.js';
import { formatTime } from '../format.js';
import { usePoll } from '../hooks.js';
import { Link } from '../router.js';
import type { RunEnvironment, VerifyAnswer } from '../types.js';
import { useAction } from './actions.js';
import { useEffect, useState } from 'react';

/** Fields not shown as they are: secret references show their names only. */
const HIDDEN = new Set(['uuid', 'name', 'kind', 'description', 'environment', 'secrets', 'created_at', 'updated_at', 'api_key_secret', 'external_id']);

function show(value: unknown): ReactNode {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : null;
  if (typeof value === 'object') return <code className="wrap">{JSON.stringify(value)}</code>;
  return String(value);
}

export function RunEnvironmentPage({ name }: { name: string }) {
  const { canOperate } = useSession();
  const env = usePoll(() => api<RunEnvironment>('GET', `run_environments/${seg(name)}`), [name], 10_000);
  const action = useAction();
  const [result, setResult] = useState<VerifyAnswer | null>(null);
  const r = env.data;
  const verify = async () => {
    const answer = await action.run(() => api<VerifyAnswer>('POST', `run_environments/${seg(name)}/verify`, {}));
    if (answer) setResult(answer);
  };
  const kind = r?.kind;
  useEffect(() => {
    // The checks of an aws-ecs Run Environment run when the page opens; the button runs them again.
    if (kind === 'aws-ecs' && canOperate) void verify();
  }, [kind, canOperate]);
  return (
    <>
      <PageHeader title={name} crumbs={[{ to: '/run-environments', label: 'Run Environments' }]}>
        {canOperate && r && (
          <button type="button" className="primary" disabled={action.busy} onClick={() => void verify()}>
            {action.busy ? 'Verifying…' : result ? 'Verify again' : 'Verify'}
          </button>
        )}
      </PageHeader>
      <ErrorBox error={env.error} />
      {!r ? (
        env.error ? null : <Loading />
      ) : (
        <>
          {r.description && <p>{r.description}</p>}
          <section aria-labelledby="settings-title">
            <h2 id="settings-title">Settings</h2>
            <Fields
              rows={[
                ['Kind', r.kind],
                ...Object.entries(r)
                  .filter(([k]) => !HIDDEN.has(k))
                  .map(([k, v]) => [k.replace(/_/g, ' '), show(v)] as [string, ReactNode]),
                ['Environment', Object.keys(r.environment).length ? Object.entries(r.environment).map(([k, v]) => `${k}=${v}`).join(' ') : null],
                ['Secrets', Object.keys(r.secrets).length ? `${Object.keys(r.secrets).join(', ')} (references not shown)` : null],
                ...(r.external_id ? ([['External ID', 'set (not shown)']] as [string, ReactNode][]) : []),
                ...(r.api_key_secret ? ([['Wrapper API key secret', 'set (not shown)']] as [string, ReactNode][]) : []),
                ['Updated', formatTime(r.updated_at)],
              ]}
            />
            <p className="small">
              <Link to={`/tasks?run_environment=${encodeURIComponent(r.name)}`}>Its Tasks</Link>
            </p>
          </section>
          <section aria-labelledby="verify-title">
            <h2 id="verify-title">Verify</h2>
            {!canOperate && <p className="muted">Verifying needs a developer or admin key.</p>}
            <ErrorBox error={action.error} title="Verify" />
            {action.busy && !result && <Loading />}
            {result ? (
              <>
                <p>
                  <Status value={result.ok ? 'pass' : 'fail'} label={result.ok ? 'all checks passed' : 'some checks failed'} />
                </p>
                <ul className="checks">
                  {result.checks.map((c) => (
                    <li key={c.name} data-check={c.name}>
                      <Status value={c.status} /> <strong>{c.name}</strong>: {c.message}
                      {c.fix && <div className="fix">Fix: {c.fix}</div>}
                    </li>
                  ))}
                </ul>
              </>
            ) : (
              !action.busy && !action.error && canOperate && <Empty>Run the checks with Verify.</Empty>
            )}
          </section>
        </>
      )}
    </>
  );
}
