import { useState } from 'react';
import type { ReactNode } from 'react';
import { api, ApiError } from '../api.js';
import type { Execution } from '../types.js';

/** An action's state: busy while the request runs, and the API's error if it failed. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

export function startTask(task: string, environment?: Record<string, string>): Promise<Execution> {
  return api<Execution>('POST', 'task_executions', { task, ...(environment && Object.keys(environment).length ? { environment } : {}) });
}

export function stopExecution(uuid: string): Promise<Execution> {
  return api<Execution>('PATCH', `task_executions/${uuid}`, { status: 'STOPPING' });
}

/**
 * Asks an execution to stop; disabled while an action runs or once the stop is under way.
 * `children` is the label (default "Stop"); `onStopped` runs after the request, as it ended.
 */
export function StopButton({
  execution,
  action,
  onStopped,
  label,
  children = 'Stop',
}: {
  execution: Pick<Execution, 'uuid' | 'status'>;
  action: ReturnType<typeof useAction>;
  onStopped: () => void;
  /** aria-label, when the button's row does not say what it stops. */
  label?: string;
  children?: ReactNode;
}) {
  return (
    <button
      type="button"
      className="danger"
      disabled={action.busy || execution.status === 'STOPPING'}
      aria-label={label}
      onClick={() => void action.run(() => stopExecution(execution.uuid)).then(onStopped)}
    >
      {children}
    </button>
  );
}
