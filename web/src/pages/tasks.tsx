import { useEffect, useState } from 'react';
import { api, query } from '../api.js';
import { useSession } from '../auth.js';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, When } from '../components.js';
import { isInProgress } from '../format.js';
import { usePoll } from '../hooks.js';
import { Link, setQuery, useLocation } from '../router.js';
import type { Page, RunEnvironment, TaskSummary } from '../types.js';
import { startTask, StopButton, useAction } from './actions.js';

const LIMIT = 50;

export function TasksPage() {
  const { search } = useLocation();
  const { canOperate } = useSession();
  const text = search.get('search') ?? '';
  const env = search.get('run_environment') ?? '';
  const enabled = search.get('enabled') ?? '';
  const offset = Number(search.get('offset') ?? 0) || 0;
  const [typed, setTyped] = useState(text);
  // The URL is the truth: back, forward and the Tasks link reset the box.
  useEffect(() => setTyped(text), [text]);
  useEffect(() => {
    if (typed === text) return;
    const id = setTimeout(() => setQuery({ search: typed, offset: null }), 250);
    return () => clearTimeout(id);
  }, [typed, text]);

  const tasks = usePoll(
    () => api<Page<TaskSummary>>('GET', `task_summaries${query({ limit: LIMIT, offset, search: text, run_environment: env, enabled })}`),
    [text, env, enabled, offset],
    2000,
  );
  const envs = usePoll(() => api<Page<RunEnvironment>>('GET', 'run_environments?limit=200'), [], null);
  const action = useAction();
  const filtered = Boolean(text || env || enabled);

  return (
    <>
      <PageHeader title="Tasks" />
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={typed} placeholder="Task name contains…" onChange={(e) => setTyped(e.target.value)} />
        </label>
        <label>
          Run Environment
          <select value={env} onChange={(e) => setQuery({ run_environment: e.target.value, offset: null }, false)}>
            <option value="">All</option>
            {envs.data?.results.map((r) => (
              <option key={r.uuid} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={enabled} onChange={(e) => setQuery({ enabled: e.target.value, offset: null }, false)}>
            <option value="">Enabled and disabled</option>
            <option value="true">Enabled</option>
            <option value="false">Disabled</option>
          </select>
        </label>
      </form>
      <ErrorBox error={action.error} title="The action failed" />
      <ErrorBox error={tasks.error} />
      {!tasks.data ? (
        tasks.error ? null : <Loading />
      ) : tasks.data.results.length === 0 ? (
        <Empty>
          {filtered ? 'No Task matches these filters.' : 'No Tasks yet. Describe some in berth.yaml and run `berth apply -f berth.yaml`.'}
        </Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table className="tasks-table">
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col" className="hide-narrow">Run Environment</th>
                  <th scope="col" className="hide-narrow">Schedule</th>
                  <th scope="col">Last execution</th>
                  <th scope="col" className="num hide-narrow">Success</th>
                  {canOperate && <th scope="col"><span className="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {tasks.data.results.map((s) => {
                  const t = s.task;
                  const last = s.last_execution;
                  const running = last !== null && isInProgress(last.status);
                  return (
                    <tr key={t.uuid} data-task={t.name}>
                      <td>
                        <Link to={`/tasks/${encodeURIComponent(t.name)}`} className="strong">
                          {t.name}
                        </Link>
                        {!t.enabled && <span className="tag">disabled</span>}
                        {t.passive && <span className="tag">passive</span>}
                        {t.description && <div className="muted small clip">{t.description}</div>}
                      </td>
                      <td className="hide-narrow">{t.run_environment.name}</td>
                      <td className="hide-narrow">
                        {t.schedule ? (
                          <>
                            <code>{t.schedule}</code>
                            <div className="small">{s.next_fire_at ? <>next <When iso={s.next_fire_at} /></> : <span className="muted">not fired by Berth</span>}</div>
                          </>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                      <td className="last-execution">
                        {last ? (
                          <Link to={`/executions/${last.uuid}`} aria-label={`Last execution of ${t.name}: ${last.status}`}>
                            <Status value={last.status} />
                          </Link>
                        ) : (
                          <span className="muted">never ran</span>
                        )}
                        {last && (
                          <div className="small muted">
                            <When iso={last.finished_at ?? last.started_at ?? last.created_at} />
                          </div>
                        )}
                      </td>
                      <td className="num hide-narrow" title={s.recent_finished ? `${s.recent_succeeded} of the last ${s.recent_finished} finished executions succeeded` : undefined}>
                        {s.success_rate === null ? <span className="muted">—</span> : `${Math.round(s.success_rate * 100)}%`}
                      </td>
                      {canOperate && (
                        <td className="row-actions">
                          {!t.passive && (
                            <button
                              type="button"
                              disabled={action.busy || !t.enabled}
                              aria-label={`Start ${t.name}`}
                              onClick={() => void action.run(() => startTask(t.name)).then(tasks.reload)}
                            >
                              Start
                            </button>
                          )}
                          {running && <StopButton execution={last} action={action} onStopped={tasks.reload} label={`Stop ${t.name}`} />}
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager count={tasks.data.count} limit={LIMIT} offset={offset} />
        </>
      )}
    </>
  );
}
