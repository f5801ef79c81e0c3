import { api, query } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Status, When } from '../components.js';
import { usePoll } from '../hooks.js';
import { Link } from '../router.js';
import type { Execution, Overview, Page } from '../types.js';
import { durationOf } from '../format.js';
import { useNow } from '../hooks.js';

const ORDER = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'ABANDONED', 'STOPPED', 'RUNNING', 'QUEUED', 'MANUALLY_STARTED', 'STOPPING', 'ABORTED', 'MARKED_DONE', 'EXITED_AFTER_MARKED_DONE'];
const FAILED = 'FAILED,TERMINATED_AFTER_TIME_OUT,ABANDONED,ABORTED';

export function OverviewPage() {
  const overview = usePoll(() => api<Overview>('GET', `overview${query({ hours: 24, upcoming: 8 })}`), [], 3000);
  const running = usePoll(() => api<Page<Execution>>('GET', `task_executions${query({ status: 'IN_PROGRESS', limit: 10 })}`), [], 2000);
  const failures = usePoll(
    () =>
      api<Page<Execution>>(
        'GET',
        `task_executions${query({ status: FAILED, limit: 8, created_after: new Date(Date.now() - 24 * 3600_000).toISOString() })}`,
      ),
    [],
    3000,
  );
  const now = useNow();
  const o = overview.data;
  return (
    <>
      <PageHeader title="Overview" />
      <ErrorBox error={overview.error ?? running.error ?? failures.error} />
      <section aria-labelledby="counts-title">
        <h2 id="counts-title">Last 24 hours</h2>
        {!o ? (
          <Loading />
        ) : o.total === 0 ? (
          <Empty>No executions in the last 24 hours. Start a Task from the <Link to="/tasks">Tasks</Link> page.</Empty>
        ) : (
          <ul className="counts" aria-label="Executions by status">
            <li className="count-total">
              <span className="count-n">{o.total.toLocaleString()}</span> executions
            </li>
            {ORDER.filter((s) => (o.counts[s] ?? 0) > 0).map((s) => (
              <li key={s}>
                <Link to={`/executions${query({ status: s })}`}>
                  <span className="count-n">{o.counts[s]!.toLocaleString()}</span> <Status value={s} />
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      <div className="grid-2">
        <section aria-labelledby="running-title">
          <h2 id="running-title">
            Running now {running.data && running.data.count > 0 && <span className="badge">{running.data.count}</span>}
          </h2>
          {!running.data ? (
            <Loading />
          ) : running.data.results.length === 0 ? (
            <Empty>Nothing is running.</Empty>
          ) : (
            <ul className="list">
              {running.data.results.map((e) => (
                <li key={e.uuid}>
                  <Status value={e.status} /> <Link to={`/executions/${e.uuid}`}>{e.task.name}</Link>{' '}
                  <span className="muted">for {durationOf(e.started_at ?? e.created_at, null, now)}</span>
                  {e.last_status_message && <div className="muted small">{e.last_status_message}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="next-title">
          <h2 id="next-title">Next scheduled runs</h2>
          {!o ? (
            <Loading />
          ) : o.upcoming.length === 0 ? (
            <Empty>No Task or Workflow has a schedule Berth runs. Give one a <code>schedule</code> in berth.yaml.</Empty>
          ) : (
            <ul className="list">
              {o.upcoming.map((u) => (
                <li key={`${u.kind}-${u.uuid}`}>
                  <When iso={u.next_fire_at} /> <Link to={`/${u.kind === 'task' ? 'tasks' : 'workflows'}/${encodeURIComponent(u.name)}`}>{u.name}</Link>{' '}
                  <span className="muted small">
                    {u.kind} · <code>{u.schedule}</code>
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <section aria-labelledby="failures-title">
        <h2 id="failures-title">Recent failures</h2>
        {!failures.data ? (
          <Loading />
        ) : failures.data.results.length === 0 ? (
          <Empty>No failures in the last 24 hours.</Empty>
        ) : (
          <ul className="list failures">
            {failures.data.results.map((e) => (
              <li key={e.uuid}>
                <Status value={e.status} /> <Link to={`/executions/${e.uuid}`}>{e.task.name}</Link> <When iso={e.finished_at ?? e.updated_at} />
                {e.exit_code !== null && <span className="muted"> · exit code {e.exit_code}</span>}
                {e.failure && <div className="reason">{e.failure.message}</div>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
