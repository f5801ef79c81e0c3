import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { api, ApiError, query } from '../api.js';
import { useSession } from '../auth.js';
import { ErrorBox, Fields, Loading, PageHeader, Status, When } from '../components.js';
import { durationOf, formatTime, isInProgress } from '../format.js';
import { useNow, usePoll } from '../hooks.js';
import { Link } from '../router.js';
import type { Execution, LogPage } from '../types.js';
import { StopButton, useAction } from './actions.js';

export function ExecutionPage({ uuid }: { uuid: string }) {
  const execution = usePoll(() => api<Execution>('GET', `task_executions/${uuid}`), [uuid], 1500);
  const { canOperate } = useSession();
  const action = useAction();
  const now = useNow();
  const e = execution.data;
  const [attempt, setAttempt] = useState<number | null>(null);
  const shownAttempt = attempt ?? (e && e.attempt > 0 ? e.attempt : null);
  const ecs = e?.executor?.kind === 'aws-ecs' ? e.executor.details : null;
  return (
    <>
      <PageHeader
        title={e ? <>{e.task.name} <Status value={e.status} /></> : 'Execution'}
        crumbs={e ? [{ to: '/executions', label: 'Executions' }, { to: `/tasks/${encodeURIComponent(e.task.name)}`, label: e.task.name }] : [{ to: '/executions', label: 'Executions' }]}
      >
        {canOperate && e && isInProgress(e.status) && (
          <StopButton execution={e} action={action} onStopped={execution.reload}>
            {e.status === 'STOPPING' ? 'Stopping…' : 'Stop'}
          </StopButton>
        )}
      </PageHeader>
      <ErrorBox error={action.error} title="The action failed" />
      <ErrorBox error={execution.error} />
      {!e ? (
        execution.error ? null : <Loading />
      ) : (
        <>
          {e.failure && (
            <div className={`failure fault-${e.failure.fault ?? 'unknown'}`} role="status">
              <strong>{e.failure.type.replace(/_/g, ' ').toLowerCase()}</strong>
              {e.failure.fault && <span className="muted"> · {String(e.failure.fault)}'s side</span>}
              <p className="failure-message">{e.failure.message}</p>
            </div>
          )}
          <Timeline execution={e} now={now} />
          <div className="grid-2">
            <section aria-labelledby="facts-title">
              <h2 id="facts-title">Details</h2>
              <Fields
                rows={[
                  ['Exit code', e.exit_code === null ? null : <span className="exit-code">{e.exit_code}</span>],
                  ['Run reason', e.run_reason],
                  ['Stop reason', e.stop_reason],
                  ['Attempt', `${e.attempt} of ${e.max_attempts}`],
                  ['Duration', durationOf(e.started_at, e.finished_at, now)],
                  ['Run Environment', <Link to={`/run-environments/${encodeURIComponent(e.run_environment.name)}`}>{e.run_environment.name}</Link>],
                  ['Uuid', <code className="wrap">{e.uuid}</code>],
                ]}
              />
            </section>
            <section aria-labelledby="progress-title">
              <h2 id="progress-title">Progress</h2>
              <Fields
                rows={[
                  ['Last status message', e.last_status_message],
                  [
                    'Counts',
                    [e.success_count, e.error_count, e.skipped_count, e.expected_count].every((c) => c === null)
                      ? null
                      : `${e.success_count ?? 0} succeeded · ${e.error_count ?? 0} errors · ${e.skipped_count ?? 0} skipped${e.expected_count !== null ? ` · ${e.expected_count} expected` : ''}`,
                  ],
                  ['Last heartbeat', e.last_heartbeat_at ? <When iso={e.last_heartbeat_at} /> : null],
                  ['App heartbeat', e.last_app_heartbeat_at ? <When iso={e.last_app_heartbeat_at} /> : null],
                  [
                    'Environment overrides',
                    Object.keys(e.environment_overrides).length ? Object.entries(e.environment_overrides).map(([k, v]) => `${k}=${v}`).join(' ') : null,
                  ],
                  ...(ecs
                    ? ([
                        [
                          'ECS task',
                          typeof ecs.console_url === 'string' ? (
                            <a href={ecs.console_url} target="_blank" rel="noreferrer noopener">
                              {String(ecs.task_arn ?? 'open in the AWS console')} ↗
                            </a>
                          ) : (
                            String(ecs.task_arn ?? '—')
                          ),
                        ],
                        ...(typeof ecs.log_group === 'string'
                          ? ([['CloudWatch logs', <code className="wrap">{`${ecs.log_group} ${String(ecs.log_stream ?? '')}`}</code>]] as [string, ReactNode][])
                          : []),
                      ] as [string, ReactNode][])
                    : e.executor
                      ? ([['Executor', `${e.executor.kind}${e.executor.details.pid ? ` · pid ${String(e.executor.details.pid)}` : ''}`]] as [string, ReactNode][])
                      : []),
                ]}
              />
            </section>
          </div>
          {e.attempts.length > 0 && (
            <section aria-labelledby="attempts-title">
              <h2 id="attempts-title">Attempts</h2>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Status</th>
                      <th scope="col">Started</th>
                      <th scope="col" className="num">Duration</th>
                      <th scope="col" className="num">Exit</th>
                      <th scope="col">Reason</th>
                      <th scope="col"><span className="sr-only">Logs</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {e.attempts.map((a) => (
                      <tr key={a.number}>
                        <td>{a.number}</td>
                        <td>
                          <Status value={a.status} />
                        </td>
                        <td>{formatTime(a.started_at)}</td>
                        <td className="num">{durationOf(a.started_at, a.finished_at, now)}</td>
                        <td className="num">{a.exit_code ?? '—'}</td>
                        <td className="reason-cell">{a.failure?.message ?? '—'}</td>
                        <td>
                          <button type="button" className="link-button" aria-pressed={shownAttempt === a.number} onClick={() => setAttempt(a.number)}>
                            logs
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          )}
          <section aria-labelledby="logs-title">
            <h2 id="logs-title">Logs{shownAttempt !== null && e.attempts.length > 1 ? ` (attempt ${shownAttempt})` : ''}</h2>
            {shownAttempt === null ? (
              <p className="muted">No output yet: the execution has not been launched.</p>
            ) : (
              <LogTail key={`${uuid}-${shownAttempt}`} uuid={uuid} attempt={shownAttempt} />
            )}
          </section>
        </>
      )}
    </>
  );
}

function Timeline({ execution: e, now }: { execution: Execution; now: number }) {
  const steps: { label: string; at: string | null; state: 'done' | 'current' | 'todo' }[] = [
    { label: 'Requested', at: e.created_at, state: 'done' },
    { label: 'Started', at: e.started_at, state: e.started_at ? 'done' : isInProgress(e.status) ? 'current' : 'todo' },
    { label: e.finished_at ? 'Finished' : 'Running', at: e.finished_at, state: e.finished_at ? 'done' : e.started_at ? 'current' : 'todo' },
  ];
  return (
    <ol className="timeline" aria-label="Timeline">
      {steps.map((s, i) => (
        <li key={s.label} className={`step-${s.state}`}>
          <span className="step-label">{s.label}</span>
          <span className="step-time">{s.at ? formatTime(s.at) : s.state === 'current' ? 'now' : '—'}</span>
          {i > 0 && steps[i - 1]!.at && (s.at || s.state === 'current') && (
            <span className="step-gap muted small">+{durationOf(steps[i - 1]!.at, s.at, now)}</span>
          )}
        </li>
      ))}
    </ol>
  );
}

const MAX_LINES = 5000;

/**
 * The attempt's output, followed live: each page's `next_cursor` is asked for again until the
 * server says the output is complete (what `berth logs -f` does).
 */
function LogTail({ uuid, attempt }: { uuid: string; attempt: number }) {
  const [lines, setLines] = useState<{ stream: string; text: string }[]>([]);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [follow, setFollow] = useState(true);
  const [dropped, setDropped] = useState(0);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let cancelled = false;
    let cursor: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const page = await api<LogPage>('GET', `task_executions/${uuid}/logs${query({ attempt, cursor })}`);
        if (cancelled) return;
        cursor = page.next_cursor;
        setError(null);
        if (page.entries.length) {
          setLines((old) => {
            const next = old.concat(page.entries);
            if (next.length > MAX_LINES) {
              setDropped((d) => d + next.length - MAX_LINES);
              return next.slice(next.length - MAX_LINES);
            }
            return next;
          });
        }
        if (page.complete) {
          setComplete(true);
          return;
        }
        // More may be waiting: ask again at once when this page was full, else in a second.
        timer = setTimeout(() => void tick(), page.entries.length > 0 ? 250 : 1000);
      } catch (e) {
        if (cancelled) return;
        setError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)));
        timer = setTimeout(() => void tick(), 3000);
      }
    };
    void tick();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [uuid, attempt]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <div className="logs">
      <div className="logs-bar">
        <span className={complete ? 'muted' : 'live'} aria-live="polite">
          {complete ? `${lines.length} lines, complete` : `live · ${lines.length} lines`}
        </span>
        <label className="small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> keep scrolled to the end
        </label>
      </div>
      <ErrorBox error={error} title="Logs" />
      <pre ref={box} className="log-lines" tabIndex={0} aria-label="Log output">
        {dropped > 0 && <span className="muted">… {dropped} earlier lines not shown …{'\n'}</span>}
        {lines.length === 0 && !error ? <span className="muted">{complete ? 'No output.' : 'Waiting for output…'}</span> : null}
        {lines.map((l, i) => (
          <span key={i} className={`line ${l.stream}`}>
            {l.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </div>
  );
}
