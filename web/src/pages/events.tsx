import { api, query } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, When } from '../components.js';
import { usePoll } from '../hooks.js';
import { Link, setQuery, useLocation } from '../router.js';
import type { BerthEvent, Page } from '../types.js';
import { EVENT_TYPES } from '../../../src/domain/event-types.js';

const LIMIT = 50;

export function EventsPage() {
  const { search } = useLocation();
  const type = search.get('type') ?? '';
  const offset = Number(search.get('offset') ?? 0) || 0;
  const events = usePoll(() => api<Page<BerthEvent>>('GET', `events${query({ limit: LIMIT, offset, type })}`), [type, offset], 5000);
  return (
    <>
      <PageHeader title="Events" />
      <p className="muted">Things Berth noticed that may need a person: failed, timed-out and abandoned executions, missed scheduled runs, missing heartbeats, executions that failed to start.</p>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type
          <select value={type} onChange={(e) => setQuery({ type: e.target.value, offset: null }, false)}>
            <option value="">All types</option>
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={events.error} />
      {!events.data ? (
        events.error ? null : <Loading />
      ) : events.data.results.length === 0 ? (
        <Empty>{type ? 'No events of this type.' : 'No events: nothing has needed attention.'}</Empty>
      ) : (
        <>
          <ul className="list events">
            {events.data.results.map((e) => (
              <li key={e.uuid}>
                <Status value={e.severity} label={e.type} /> <When iso={e.created_at} />
                {e.task && (
                  <>
                    {' '}
                    · <Link to={`/tasks/${encodeURIComponent(e.task.name)}`}>{e.task.name}</Link>
                  </>
                )}
                {e.task_execution && (
                  <>
                    {' '}
                    · <Link to={`/executions/${e.task_execution.uuid}`}>execution</Link>
                  </>
                )}
                <div className="reason">{e.message}</div>
              </li>
            ))}
          </ul>
          <Pager count={events.data.count} limit={LIMIT} offset={offset} />
        </>
      )}
    </>
  );
}
