import { api, query } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Pager } from '../components.js';
import { usePoll } from '../hooks.js';
import { Link, useLocation } from '../router.js';
import type { Page, RunEnvironment } from '../types.js';

const LIMIT = 50;

export function RunEnvironmentsPage() {
  const { search } = useLocation();
  const offset = Number(search.get('offset') ?? 0) || 0;
  const envs = usePoll(() => api<Page<RunEnvironment>>('GET', `run_environments${query({ limit: LIMIT, offset })}`), [offset], 10_000);
  return (
    <>
      <PageHeader title="Run Environments" />
      <ErrorBox error={envs.error} />
      {!envs.data ? (
        envs.error ? null : <Loading />
      ) : envs.data.results.length === 0 ? (
        <Empty>No Run Environments yet. `berth setup aws` creates an aws-ecs one; berth.yaml can describe a local one.</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Run Environment</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="hide-narrow">Where</th>
                </tr>
              </thead>
              <tbody>
                {envs.data.results.map((r) => (
                  <tr key={r.uuid}>
                    <td>
                      <Link to={`/run-environments/${encodeURIComponent(r.name)}`} className="strong">
                        {r.name}
                      </Link>
                      {r.description && <div className="muted small clip">{r.description}</div>}
                    </td>
                    <td>{r.kind}</td>
                    <td className="hide-narrow">{r.kind === 'aws-ecs' ? `${String(r.region)} · cluster ${String(r.cluster)}` : 'processes on the Berth host'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager count={envs.data.count} limit={LIMIT} offset={offset} />
        </>
      )}
    </>
  );
}
