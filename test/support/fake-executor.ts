/**
 * An executor whose observations the test decides: it "starts" nothing, answers `observe` with
 * what `set` last said for that attempt (pending until told otherwise), and records stops. For
 * tests that need exact control over what the executor sees (an ECS task without an exit code, a
 * process that exits only when the test says so) without a real backend.
 */
import type {
  Executor,
  ExecutorHandle,
  ExecutorLogPage,
  Observation,
  RecoverKey,
  StartRequest,
  StartResult,
} from '../../src/executors/executor.js';

const keyOf = (handle: ExecutorHandle) => `${String(handle.execution)}-${String(handle.attempt)}`;

export class FakeExecutor implements Executor {
  readonly observeBatchSize = 100;
  /** Attempts started, as `<execution uuid>-<attempt>`. */
  readonly started: string[] = [];
  /** Attempts the monitor asked to stop, as `<execution uuid>-<attempt>`. */
  readonly stops: string[] = [];
  private readonly states = new Map<string, Observation>();
  private listener: ((hint?: { executionUuid: string }) => void) | undefined;

  constructor(readonly kind: string = 'local') {}

  /** What the executor sees of an attempt from now on; tells the monitor to look. */
  set(executionUuid: string, attempt: number, observation: Observation): void {
    this.states.set(`${executionUuid}-${attempt}`, observation);
    this.listener?.({ executionUuid });
  }

  async start(request: StartRequest): Promise<StartResult> {
    const key = `${request.executionUuid}-${request.attempt}`;
    if (!this.states.has(key)) this.states.set(key, { state: 'pending' });
    this.started.push(key);
    return { ok: true, handle: { execution: request.executionUuid, attempt: request.attempt } };
  }

  async recover(key: RecoverKey): Promise<ExecutorHandle | null> {
    return this.states.has(`${key.executionUuid}-${key.attempt}`) ? { execution: key.executionUuid, attempt: key.attempt } : null;
  }

  async observe(handles: readonly ExecutorHandle[]): Promise<Observation[]> {
    return handles.map((h) => this.states.get(keyOf(h)) ?? { state: 'lost', message: 'the fake executor never started it' });
  }

  async stop(handle: ExecutorHandle): Promise<void> {
    this.stops.push(keyOf(handle));
  }

  async readLogs(): Promise<ExecutorLogPage> {
    return { entries: [], nextCursor: '', complete: true };
  }

  describe(handle: ExecutorHandle): Record<string, unknown> {
    return { fake: keyOf(handle) };
  }

  onActivity(listener: (hint?: { executionUuid: string }) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.listener = undefined;
  }
}
