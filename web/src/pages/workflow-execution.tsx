import { api } from '../api.js';
import { useSession } from '../auth.js';
import { ErrorBox, Fields, Loading, PageHeader, Status, When } from '../components.js';
import { durationOf } from '../format.js';
import { useNow, usePoll } from '../hooks.js';
import { Link } from '../router.js';
import type { WorkflowExecution } from '../types.js';
import { useAction } from './actions.js';
import { WorkflowGraph } from './graph.js';

const RETRYABLE = new Set(['FAILED', 'STOPPED', 'TERMINATED_AFTER_TIME_OUT']);

export function WorkflowExecutionPage({ uuid }: { uuid: string }) {
  const wfe = usePoll(() => api<WorkflowExecution>('GET', `workflow_executions/${uuid}`), [uuid], 1000);
  const { canOperate } = useSession();
  const action = useAction();
  const now = useNow();
  const w = wfe.data;
  return (
    <>
      <PageHeader
        title={w ? <>{w.workflow.name} <Status value={w.status} /></> : 'Workflow Execution'}
        crumbs={[{ to: '/workflows', label: 'Workflows' }, ...(w ? [{ to: `/workflows/${encodeURIComponent(w.workflow.name)}`, label: w.workflow.name }] : [])]}
      >
        {canOperate && w && (w.status === 'RUNNING' || w.status === 'STOPPING') && (
          <button type="button" className="danger" disabled={action.busy || w.status === 'STOPPING'} onClick={() => void action.run(() => api('PATCH', `workflow_executions/${uuid}`, { status: 'STOPPING' })).then(wfe.reload)}>
            Stop
          </button>
        )}
        {canOperate && w && RETRYABLE.has(w.status) && (
          <button type="button" className="primary" disabled={action.busy} onClick={() => void action.run(() => api('POST', `workflow_executions/${uuid}/retry`)).then(wfe.reload)}>
            Retry from failure
          </button>
        )}
      </PageHeader>
      <ErrorBox error={action.error} title="The action failed" />
      <ErrorBox error={wfe.error} />
      {!w ? (
        wfe.error ? null : <Loading />
      ) : (
        <>
          {w.failure && (
            <div className="failure" role="status">
              <strong>{w.failure.code.replace(/_/g, ' ').toLowerCase()}</strong>
              <p className="failure-message">{w.failure.message}</p>
            </div>
          )}
          {w.nodes && w.edges && <WorkflowGraph nodes={w.nodes} edges={w.edges} title={`${w.workflow.name}: graph with each instance's state`} />}
          <div className="legend small muted" aria-hidden="true">
            Colours: <Status value="SUCCEEDED" /> <Status value="RUNNING" /> <Status value="WAITING" /> <Status value="FAILED" /> <Status value="SKIPPED" />
          </div>
          <div className="grid-2">
            <section aria-labelledby="wf-facts">
              <h2 id="wf-facts">Details</h2>
              <Fields
                rows={[
                  ['Started', <When iso={w.started_at} />],
                  ['Duration', durationOf(w.started_at, w.finished_at, now)],
                  ['Attempt', String(w.attempt)],
                  ['Run reason', w.run_reason],
                  ['Definition version', String(w.workflow_version)],
                ]}
              />
            </section>
            <section aria-labelledby="wf-nodes">
              <h2 id="wf-nodes">Instances</h2>
              <ul className="list">
                {w.nodes?.map((n) => (
                  <li key={n.name}>
                    <Status value={n.state} /> <strong>{n.name}</strong> <span className="muted small">Task {n.task.name}</span>
                    {n.execution && (
                      <>
                        {' '}
                        · <Link to={`/executions/${n.execution.uuid}`}>its execution</Link>{n.execution.exit_code !== null ? <span className="muted small"> (exit code {n.execution.exit_code})</span> : null}
                      </>
                    )}
                    {n.start_failure && <div className="reason">could not start: {n.start_failure}</div>}
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </>
      )}
    </>
  );
}
