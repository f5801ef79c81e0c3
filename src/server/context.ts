import type { Executor } from '../executors/executor.js';
import type { Store } from '../store/store.js';
import type { Logger } from './logger.js';

/** Time, injected so tests can drive it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Things every part of a running server shares. Built once in `BerthServer`. */
export interface ServerContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  /** Executors by Run Environment kind; a kind missing here is turned off on this server. */
  readonly executors: ReadonlyMap<string, Executor>;
  /** This server process's id in `server_instances`. */
  readonly instanceId: string;
  readonly hostname: string;
  /** Ask the launcher to look for work now rather than at its next tick. */
  wakeLauncher(): void;
  /** Ask the monitor to look now. */
  wakeMonitor(): void;
  /** Ask the workflow engine to look now (an execution ended). Optional: contexts built without one ignore it. */
  wakeWorkflows?(): void;
  /** Ask the scheduler to look now (a schedule changed). Optional, like `wakeWorkflows`. */
  wakeScheduler?(): void;
}
