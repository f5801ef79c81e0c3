import { useSession } from '../auth.js';
import { ErrorBox, Status, When } from '../components.js';
import { durationOf, isInProgress } from '../format.js';
import { useNow } from '../hooks.js';
import { Link } from '../router.js';
import type { Execution } from '../types.js';
import { StopButton, useAction } from './actions.js';

/** Executions as table rows: status, Task, when, how long, exit code, reason; Stop for running ones. */
export function ExecutionTable({ executions, showTask = true, onChanged }: { executions: Execution[]; showTask?: boolean; onChanged: () => void }) {
  const { canOperate } = useSession();
  const action = useAction();
  const now = useNow();
  return (
    <>
      <ErrorBox error={action.error} title="The action failed" />
      <div className="table-wrap">
        <table className="executions-table">
          <thead>
            <tr>
              <th scope="col">Status</th>
              {showTask && <th scope="col">Task</th>}
              <th scope="col">Created</th>
              <th scope="col" className="num">Duration</th>
              <th scope="col" className="num hide-narrow">Exit</th>
              <th scope="col" className="hide-narrow">Reason</th>
              {canOperate && <th scope="col"><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {executions.map((e) => (
              <tr key={e.uuid} data-execution={e.uuid}>
                <td>
                  <Link to={`/executions/${e.uuid}`} aria-label={`Execution ${e.uuid}: ${e.status}`}>
                    <Status value={e.status} />
                  </Link>
                </td>
                {showTask && (
                  <td>
                    <Link to={`/tasks/${encodeURIComponent(e.task.name)}`}>{e.task.name}</Link>
                  </td>
                )}
                <td>
                  <Link to={`/executions/${e.uuid}`} className="plain">
                    <When iso={e.created_at} />
                  </Link>
                  <div className="small muted">{e.run_reason.toLowerCase().replace(/_/g, ' ')}</div>
                </td>
                <td className="num">{durationOf(e.started_at, e.finished_at, now)}</td>
                <td className="num hide-narrow">{e.exit_code ?? <span className="muted">—</span>}</td>
                <td className="hide-narrow reason-cell">{e.failure?.message ?? e.last_status_message ?? <span className="muted">—</span>}</td>
                {canOperate && (
                  <td className="row-actions">
                    {isInProgress(e.status) && <StopButton execution={e} action={action} onStopped={onChanged} />}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
