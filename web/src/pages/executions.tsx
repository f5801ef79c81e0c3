import { api, query } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Pager } from '../components.js';
import { usePoll } from '../hooks.js';
import { setQuery, useLocation } from '../router.js';
import type { Execution, Page } from '../types.js';
import { ExecutionTable } from './execution-table.js';

const LIMIT = 50;
const STATUS_FILTERS: [string, string][] = [
  ['', 'Any status'],
  ['IN_PROGRESS', 'In progress'],
  ['SUCCEEDED', 'Succeeded'],
  ['FAILED,TERMINATED_AFTER_TIME_OUT,ABANDONED,ABORTED', 'Failed, timed out or abandoned'],
  ['STOPPED', 'Stopped'],
];

export function ExecutionsPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const task = search.get('task') ?? '';
  const offset = Number(search.get('offset') ?? 0) || 0;
  const list = usePoll(
    () => api<Page<Execution>>('GET', `task_executions${query({ limit: LIMIT, offset, status, task })}`),
    [status, task, offset],
    2000,
  );
  const known = STATUS_FILTERS.some(([v]) => v === status);
  return (
    <>
      <PageHeader title="Executions" />
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => setQuery({ status: e.target.value, offset: null }, false)}>
            {!known && <option value={status}>{status}</option>}
            {STATUS_FILTERS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {task && (
          <p>
            Task <code>{task}</code>{' '}
            <button type="button" className="link-button" onClick={() => setQuery({ task: null, offset: null })}>
              show all Tasks
            </button>
          </p>
        )}
      </form>
      <ErrorBox error={list.error} />
      {!list.data ? (
        list.error ? null : <Loading />
      ) : list.data.results.length === 0 ? (
        <Empty>{status || task ? 'No execution matches these filters.' : 'No executions yet. Start a Task from the Tasks page.'}</Empty>
      ) : (
        <>
          <ExecutionTable executions={list.data.results} onChanged={list.reload} />
          <Pager count={list.data.count} limit={LIMIT} offset={offset} />
        </>
      )}
    </>
  );
}
