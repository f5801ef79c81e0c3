import type { ServerContext } from './context.js';
import { Loop } from './loop.js';

export interface InstanceRegistryOptions {
  heartbeatMs: number;
  timeoutMs: number;
  /**
   * True when no other server can share the database (the SQLite file is locked by this
   * process): every other registered instance is dead by definition.
   */
  soleServer: boolean;
}

/** Whether a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This server's row in `server_instances`: a heartbeat so others know it lives, and adoption of
 * the executions of servers that died. A server is dead when its heartbeat is older than
 * `timeoutMs`, or at once when it ran on this host and its pid is gone (a restart after a crash
 * picks its executions up immediately).
 */
export class InstanceRegistry {
  private readonly loop: Loop;

  constructor(
    private readonly ctx: ServerContext,
    private readonly options: InstanceRegistryOptions,
  ) {
    this.loop = new Loop('instance heartbeat', options.heartbeatMs, () => this.beat(), ctx.log);
  }

  private register(now: number): Promise<void> {
    return this.ctx.store.registerInstance({
      id: this.ctx.instanceId,
      hostname: this.ctx.hostname,
      pid: process.pid,
      started_at: now,
      heartbeat_at: now,
    });
  }

  async start(): Promise<number> {
    await this.register(this.ctx.clock.now());
    const adopted = await this.adoptDead();
    this.loop.start();
    return adopted;
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    // Leaving the table makes our running executions orphans that the next server adopts at once.
    await this.ctx.store.deleteInstance(this.ctx.instanceId);
  }

  private async beat(): Promise<boolean> {
    const now = this.ctx.clock.now();
    const alive = await this.ctx.store.heartbeatInstance(this.ctx.instanceId, now);
    if (!alive) {
      this.ctx.log.warn('this server was presumed dead by another (heartbeats too late); registering again');
      await this.register(now);
    }
    await this.adoptDead();
    return false;
  }

  /** Takes over the executions of dead servers and of owners no longer registered. */
  async adoptDead(): Promise<number> {
    const now = this.ctx.clock.now();
    let adopted = 0;
    for (const instance of await this.ctx.store.listInstances()) {
      if (instance.id === this.ctx.instanceId) continue;
      const dead =
        this.options.soleServer ||
        instance.heartbeat_at < now - this.options.timeoutMs ||
        (instance.hostname === this.ctx.hostname && !pidAlive(instance.pid));
      if (!dead) continue;
      const moved = await this.ctx.store.adoptExecutions(instance.id, this.ctx.instanceId);
      await this.ctx.store.deleteInstance(instance.id);
      adopted += moved;
      this.ctx.log.info('adopted the executions of a stopped server', {
        server: instance.id,
        host: instance.hostname,
        pid: instance.pid,
        executions: moved,
      });
    }
    for (const owner of await this.ctx.store.listOrphanOwners()) {
      const moved = await this.ctx.store.adoptExecutions(owner, this.ctx.instanceId);
      adopted += moved;
      if (moved) this.ctx.log.info('adopted executions left by a server that shut down', { server: owner, executions: moved });
    }
    if (adopted > 0) this.ctx.wakeMonitor();
    return adopted;
  }
}
