import { api, query } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, When } from '../components.js';
import { usePoll } from '../hooks.js';
import { Link, useLocation } from '../router.js';
import type { Page, Workflow, WorkflowExecution } from '../types.js';

const LIMIT = 50;

export function WorkflowsPage() {
  const { search } = useLocation();
  const offset = Number(search.get('offset') ?? 0) || 0;
  const workflows = usePoll(() => api<Page<Workflow>>('GET', `workflows${query({ limit: LIMIT, offset })}`), [offset], 10_000);
  const recent = usePoll(() => api<Page<WorkflowExecution>>('GET', 'workflow_executions?limit=15'), [], 2000);
  return (
    <>
      <PageHeader title="Workflows" />
      <ErrorBox error={workflows.error ?? recent.error} />
      {!workflows.data ? (
        workflows.error ? null : <Loading />
      ) : workflows.data.results.length === 0 ? (
        <Empty>No Workflows yet. Describe one under <code>workflows:</code> in berth.yaml and apply it.</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Workflow</th>
                  <th scope="col" className="num">Instances</th>
                  <th scope="col" className="hide-narrow">Schedule</th>
                  <th scope="col">Version</th>
                </tr>
              </thead>
              <tbody>
                {workflows.data.results.map((w) => (
                  <tr key={w.uuid} data-workflow={w.name}>
                    <td>
                      <Link to={`/workflows/${encodeURIComponent(w.name)}`} className="strong">
                        {w.name}
                      </Link>
                      {w.description && <div className="muted small clip">{w.description}</div>}
                    </td>
                    <td className="num">{w.task_instances.length}</td>
                    <td className="hide-narrow">{w.schedule ? <code>{w.schedule}</code> : <span className="muted">—</span>}</td>
                    <td>{w.version}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager count={workflows.data.count} limit={LIMIT} offset={offset} />
        </>
      )}
      <section aria-labelledby="wfe-title">
        <h2 id="wfe-title">Recent Workflow Executions</h2>
        {!recent.data ? (
          <Loading />
        ) : recent.data.results.length === 0 ? (
          <Empty>No Workflow has run yet.</Empty>
        ) : (
          <WorkflowExecutionList executions={recent.data.results} />
        )}
      </section>
    </>
  );
}

export function WorkflowExecutionList({ executions, showWorkflow = true }: { executions: WorkflowExecution[]; showWorkflow?: boolean }) {
  return (
    <ul className="list">
      {executions.map((w) => (
        <li key={w.uuid}>
          <Link to={`/workflow-executions/${w.uuid}`} aria-label={`${w.workflow.name} execution: ${w.status}`}>
            <Status value={w.status} />
          </Link>{' '}
          {showWorkflow && <Link to={`/workflows/${encodeURIComponent(w.workflow.name)}`}>{w.workflow.name}</Link>} <When iso={w.created_at} />
          {w.attempt > 1 && <span className="muted small"> · attempt {w.attempt}</span>}
          {w.failure && <div className="reason">{w.failure.message}</div>}
        </li>
      ))}
    </ul>
  );
}
