import { useState } from 'react';
import type { ReactNode } from 'react';
import type { FormEvent } from 'react';
import { api, query, seg } from '../api.js';
import { useSession } from '../auth.js';
import { Dialog, Empty, ErrorBox, Fields, Loading, PageHeader, Pager, Status, When } from '../components.js';
import { commandText, formatDuration, formatTime, statusTone } from '../format.js';
import { usePoll } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.js';
import type { Execution, Page, Task } from '../types.js';
import { ExecutionTable } from './execution-table.js';
import { startTask, useAction } from './actions.js';
import { parseEnvironment } from '../environment-text.js';

const LIMIT = 25;

export function TaskPage({ name }: { name: string }) {
  const { search } = useLocation();
  const offset = Number(search.get('offset') ?? 0) || 0;
  const { canOperate } = useSession();
  const task = usePoll(() => api<Task>('GET', `tasks/${seg(name)}`), [name], 10_000);
  const executions = usePoll(
    () => api<Page<Execution>>('GET', `task_executions${query({ task: name, limit: LIMIT, offset })}`),
    [name, offset],
    2000,
  );
  const history = usePoll(() => api<Page<Execution>>('GET', `task_executions${query({ task: name, limit: 60 })}`), [name], 5000);
  const [starting, setStarting] = useState(false);
  const t = task.data;
  return (
    <>
      <PageHeader title={name} crumbs={[{ to: '/tasks', label: 'Tasks' }]}>
        {canOperate && t && !t.passive && (
          <button type="button" className="primary" disabled={!t.enabled} onClick={() => setStarting(true)}>
            Start…
          </button>
        )}
      </PageHeader>
      <ErrorBox error={task.error} />
      {t && (
        <section aria-labelledby="config-title">
          <h2 id="config-title">Configuration</h2>
          {t.description && <p>{t.description}</p>}
          <Fields
            rows={[
              ['Run Environment', <Link to={`/run-environments/${encodeURIComponent(t.run_environment.name)}`}>{`${t.run_environment.name} (${t.run_environment.kind})`}</Link>],
              [t.image ? 'Image' : 'Command', t.image ? <code>{t.image}</code> : <code className="wrap">{commandText(t.command)}</code>],
              ...(t.image && t.command ? ([['Command', <code className="wrap">{commandText(t.command)}</code>]] as [string, ReactNode][]) : []),
              ['State', `${t.enabled ? 'enabled' : 'disabled'}${t.passive ? ', passive (monitor-only)' : ''}`],
              ['Schedule', t.schedule ? <code>{t.schedule}</code> : null],
              ['Timeout', t.timeout_seconds ? formatDuration(Number(t.timeout_seconds) * 1000) : 'none'],
              ['Retries', String(t.max_retries ?? 0)],
              ['Max concurrency', t.max_concurrency === null ? 'no limit' : String(t.max_concurrency)],
              ['Heartbeat interval', t.heartbeat_interval_seconds ? `${String(t.heartbeat_interval_seconds)} s` : 'not checked'],
              [
                'Environment',
                Object.keys(t.environment).length ? (
                  <ul className="env">
                    {Object.entries(t.environment).map(([k, v]) => (
                      <li key={k}>
                        <code>
                          {k}={v}
                        </code>
                      </li>
                    ))}
                  </ul>
                ) : null,
              ],
              ['Secrets', Object.keys(t.secrets).length ? Object.keys(t.secrets).join(', ') : null],
              ['Updated', formatTime(t.updated_at as string)],
            ]}
          />
        </section>
      )}
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Duration and status over time</h2>
        {history.data ? <DurationChart executions={history.data.results} /> : <Loading />}
      </section>
      <section aria-labelledby="recent-title">
        <h2 id="recent-title">Recent executions</h2>
        <ErrorBox error={executions.error} />
        {!executions.data ? (
          executions.error ? null : <Loading />
        ) : executions.data.results.length === 0 ? (
          <Empty>This Task has not run yet.</Empty>
        ) : (
          <>
            <ExecutionTable executions={executions.data.results} showTask={false} onChanged={executions.reload} />
            <Pager count={executions.data.count} limit={LIMIT} offset={offset} />
          </>
        )}
      </section>
      {t && (
        <StartDialog
          open={starting}
          task={t}
          onClose={() => setStarting(false)}
          onStarted={(e) => {
            setStarting(false);
            navigate(`/executions/${e.uuid}`);
          }}
        />
      )}
    </>
  );
}

function StartDialog({ open, task, onClose, onStarted }: { open: boolean; task: Task; onClose: () => void; onStarted: (e: Execution) => void }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseEnvironment(text);
    if (!parsed.ok) {
      setProblem(parsed.error);
      return;
    }
    setProblem(null);
    const execution = await action.run(() => startTask(task.name, parsed.env));
    if (execution) onStarted(execution);
  };
  return (
    <Dialog open={open} title={`Start ${task.name}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="env-overrides">Environment overrides (optional)</label>
        <textarea
          id="env-overrides"
          rows={5}
          spellCheck={false}
          placeholder={'GREETING=hi\nDRY_RUN=1'}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="env-help"
        />
        <p id="env-help" className="muted small">
          One <code>KEY=value</code> per line, added to (and overriding) the Task's environment for this run only.
        </p>
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorBox error={action.error} title="Could not start" />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={action.busy}>
            {action.busy ? 'Starting…' : 'Start'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Bars of the latest executions, oldest on the left: height is the duration, colour the status. */
function DurationChart({ executions }: { executions: Execution[] }) {
  const finished = executions.filter((e) => e.started_at).slice().reverse();
  if (finished.length === 0) return <Empty>No execution has started yet: nothing to chart.</Empty>;
  const now = Date.now();
  const durations = finished.map((e) => new Date(e.finished_at ?? new Date(now).toISOString()).getTime() - new Date(e.started_at!).getTime());
  const max = Math.max(...durations, 1);
  const width = 720;
  const height = 140;
  const gap = 3;
  const bar = Math.max(4, Math.min(24, (width - 40) / finished.length - gap));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`Durations of the last ${finished.length} executions, longest ${formatDuration(max)}`}>
        <line x1="36" y1={height} x2={width} y2={height} className="axis" />
        <text x="0" y="12" className="axis-label">
          {formatDuration(max)}
        </text>
        <text x="0" y={height} className="axis-label">
          0
        </text>
        {finished.map((e, i) => {
          const h = Math.max(2, (durations[i]! / max) * (height - 16));
          const x = 40 + i * (bar + gap);
          return (
            <a key={e.uuid} href={`/executions/${e.uuid}`} onClick={(ev) => {
              ev.preventDefault();
              navigate(`/executions/${e.uuid}`);
            }}>
              <rect x={x} y={height - h} width={bar} height={h} className={`bar tone-${statusTone(e.status)}`}>
                <title>{`${e.status} · ${formatDuration(durations[i]!)} · ${formatTime(e.created_at)}`}</title>
              </rect>
            </a>
          );
        })}
      </svg>
      <figcaption className="muted small">
        Last {finished.length} executions, oldest on the left. Colour is the status (<Status value="SUCCEEDED" /> <Status value="FAILED" />{' '}
        <Status value="RUNNING" />
        ); height is how long each ran. Newest: <When iso={finished[finished.length - 1]!.created_at} />.
      </figcaption>
    </figure>
  );
}
