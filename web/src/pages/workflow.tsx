import { api, query, seg } from '../api.js';
import { useSession } from '../auth.js';
import { Empty, ErrorBox, Loading, PageHeader } from '../components.js';
import { usePoll } from '../hooks.js';
import { navigate } from '../router.js';
import type { Page, Workflow, WorkflowExecution } from '../types.js';
import { useAction } from './actions.js';
import { WorkflowGraph } from './graph.js';
import { WorkflowExecutionList } from './workflows.js';

export function WorkflowPage({ name }: { name: string }) {
  const { canOperate } = useSession();
  const workflow = usePoll(() => api<Workflow>('GET', `workflows/${seg(name)}`), [name], 10_000);
  const executions = usePoll(() => api<Page<WorkflowExecution>>('GET', `workflow_executions${query({ workflow: name, limit: 20 })}`), [name], 2000);
  const latestUuid = executions.data?.results[0]?.uuid;
  const latest = usePoll(
    () => (latestUuid ? api<WorkflowExecution>('GET', `workflow_executions/${latestUuid}`) : Promise.resolve(null)),
    [latestUuid],
    1500,
  );
  const action = useAction();
  const w = workflow.data;
  const start = async () => {
    const started = await action.run(() => api<WorkflowExecution>('POST', 'workflow_executions', { workflow: name }));
    if (started) navigate(`/workflow-executions/${started.uuid}`);
  };
  return (
    <>
      <PageHeader title={name} crumbs={[{ to: '/workflows', label: 'Workflows' }]}>
        {canOperate && w && (
          <button type="button" className="primary" disabled={action.busy} onClick={() => void start()}>
            Start
          </button>
        )}
      </PageHeader>
      <ErrorBox error={action.error} title="Could not start" />
      <ErrorBox error={workflow.error} />
      {w && w.description && <p>{w.description}</p>}
      <section aria-labelledby="graph-title">
        <h2 id="graph-title">{latest.data ? 'Latest execution' : 'Graph'}</h2>
        {latest.data?.nodes && latest.data.edges ? (
          <>
            <p>
              <a href={`/workflow-executions/${latest.data.uuid}`} onClick={(e) => { e.preventDefault(); navigate(`/workflow-executions/${latest.data!.uuid}`); }}>
                Open this execution
              </a>{' '}
              <span className="muted">({latest.data.status})</span>
            </p>
            <WorkflowGraph nodes={latest.data.nodes} edges={latest.data.edges} title={`${name}: latest execution's graph`} />
          </>
        ) : w ? (
          <WorkflowGraph
            nodes={w.task_instances.map((i) => ({ name: i.name, task: { name: i.task, uuid: null }, state: 'NOT_STARTED', execution: null }))}
            edges={w.transitions.map((t) => ({ from: t.from, to: t.to, rule: typeof t.on === 'string' ? t.on : JSON.stringify(t.on), state: 'PENDING' }))}
            title={`${name}: its graph`}
          />
        ) : (
          <Loading />
        )}
      </section>
      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Executions</h2>
        <ErrorBox error={executions.error} />
        {!executions.data ? <Loading /> : executions.data.results.length === 0 ? <Empty>This Workflow has not run yet.</Empty> : <WorkflowExecutionList executions={executions.data.results} showWorkflow={false} />}
      </section>
    </>
  );
}
