import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { EcsExecutor } from '../executors/aws-ecs/ecs-executor.js';
import { LocalExecutor } from '../executors/local/local-executor.js';
import type { Executor } from '../executors/executor.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { buildApp } from './api/app.js';
import type { Services } from './api/services.js';
import { AttemptFinisher } from './attempt-finisher.js';
import { ApiKeyService } from './auth.js';
import { CatalogService } from './catalog-service.js';
import type { ServerConfig } from './config.js';
import { systemClock } from './context.js';
import type { Clock, ServerContext } from './context.js';
import { ExecutionService } from './execution-service.js';
import { InstanceRegistry } from './instance-registry.js';
import { Launcher } from './launcher.js';
import { LivenessChecker } from './liveness.js';
import { NotificationService } from './notifier/notification-service.js';
import { Notifier } from './notifier/notifier.js';
import { openSecretBox } from './secret-box.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { Monitor } from './monitor.js';
import { ServiceManager, ServiceWatcher } from './service-manager.js';
import { Scheduler } from './scheduler.js';
import { WorkflowEngine } from './workflow-engine.js';
import { WorkflowService } from './workflow-service.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import type { DataDirLock } from './data-dir-lock.js';

export const BERTH_VERSION = '0.1.0';

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Replaces the executors built from the config (tests). */
  executors?: Map<string, Executor>;
  /** Where the local executor runs commands by default. (Default: the server's working directory) */
  defaultWorkingDirectory?: string;
  /** Where `ENV:` references of delivery secrets are read. (Default: `process.env`) */
  hostEnvironment?: Readonly<Record<string, string | undefined>>;
}

/** A running Berth server: store, executors, loops and the HTTP API, started and stopped together. */
export class BerthServer {
  private closed = false;
  /** Set once the server is built (kept out of the constructor's long parameter list). */
  private workflowEngine: WorkflowEngine | null = null;
  /** The scheduler (set once built, like the engine); public for tests: its counts and passes. */
  scheduler: Scheduler | null = null;
  /** The Services' watch loop (set once built), when this server runs an executor with services. */
  serviceWatcher: ServiceWatcher | null = null;
  /** The notifier (set once built); public for tests: its counts and passes. */
  notifier: Notifier | null = null;

  private constructor(
    readonly config: ServerConfig,
    readonly ctx: ServerContext,
    readonly services: Services,
    readonly app: FastifyInstance,
    private readonly launcher: Launcher,
    private readonly monitor: Monitor,
    private readonly liveness: LivenessChecker,
    private readonly registry: InstanceRegistry,
    private readonly lock: DataDirLock | null,
    /** The admin key generated on the first start, to be shown once; null otherwise. */
    readonly generatedAdminKey: string | null,
    /** Executions taken over from a previous (crashed or stopped) server at start. */
    readonly adoptedAtStart: number,
  ) {}

  /** The address the API listens on, e.g. `http://127.0.0.1:7878`. */
  get url(): string {
    const address = this.app.server.address();
    if (!address || typeof address === 'string') return `http://${this.config.host}:${this.config.port}`;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /**
   * Opens the database (migrating it), takes over executions left by a crashed server, starts
   * the loops and listens. Throws with a readable message when something is misconfigured.
   */
  static async start(config: ServerConfig, options: StartOptions = {}): Promise<BerthServer> {
    const log =
      options.logger ??
      createLogger({ level: config.logLevel, format: config.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json') });
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    // SQLite allows one server per file; PostgreSQL allows many servers.
    const lock = config.databaseUrl ? null : acquireDataDirLock(config.dataDir);
    let store: Store | undefined;
    try {
      store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema });
      const clock = options.clock ?? systemClock;
      const openedStore = store;
      const executors = options.executors ?? new Map<string, Executor>();
      if (!options.executors) {
        if (config.localExecutor) {
          executors.set(
            'local',
            new LocalExecutor({
              dataDir: config.dataDir,
              defaultWorkingDirectory: options.defaultWorkingDirectory ?? process.cwd(),
              runnerBatchSize: config.localRunnerBatchSize,
            }),
          );
        }
        executors.set(
          'aws-ecs',
          new EcsExecutor({
            runEnvironment: async (uuid) => {
              const env = await openedStore.getRunEnvironment(uuid);
              return env ? { uuid: env.uuid, name: env.name, settings: env.spec as Record<string, unknown> } : null;
            },
            definitions: {
              get: (envUuid, family, hash) => openedStore.getDefinitionRevision(envUuid, family, hash),
              put: (r) =>
                openedStore.putDefinitionRevision({
                  run_environment_uuid: r.runEnvironmentUuid,
                  family: r.family,
                  hash: r.hash,
                  arn: r.arn,
                  revision: r.revision,
                  registered_at: Date.now(),
                }),
              delete: (arn) => openedStore.deleteDefinitionRevision(arn),
            },
          }),
        );
      }
      // The loops need the context and the context wakes the loops: tie the knot through `loops`.
      const loops: { launcher?: Launcher; monitor?: Monitor; workflows?: WorkflowEngine; scheduler?: Scheduler } = {};
      const ctx: ServerContext = {
        store,
        clock,
        log,
        executors,
        instanceId: randomUUID(),
        hostname: os.hostname(),
        wakeLauncher: () => loops.launcher?.wake(),
        wakeMonitor: () => loops.monitor?.wake(),
        wakeWorkflows: () => loops.workflows?.wake(),
        wakeScheduler: () => loops.scheduler?.wake(),
      };
      const finisher = new AttemptFinisher(ctx);
      const launcher = new Launcher(ctx, finisher, {
        intervalMs: config.launcherIntervalMs,
        batchSize: config.launchBatchSize,
        concurrency: config.launchConcurrency,
      });
      const monitor = new Monitor(ctx, finisher, launcher, { intervalMs: config.monitorIntervalMs });
      const liveness = new LivenessChecker(ctx, { intervalMs: config.livenessIntervalMs });
      const box = openSecretBox({ dataDir: config.dataDir, envKey: config.encryptionKey });
      // Links in notifications: the configured public URL, else the address the API listens on.
      let listeningUrl = `http://${config.host}:${config.port}`;
      const notifier = new Notifier(ctx, {
        intervalMs: config.notifierIntervalMs,
        publicUrl: () => config.publicUrl ?? listeningUrl,
        box,
        hostEnvironment: options.hostEnvironment ?? process.env,
      });
      const notifications = new NotificationService(ctx, box, notifier);
      loops.launcher = launcher;
      loops.monitor = monitor;
      for (const executor of executors.values()) executor.onActivity?.((hint) => monitor.noteActivity(hint));
      const registry = new InstanceRegistry(ctx, {
        heartbeatMs: config.instanceHeartbeatMs,
        timeoutMs: config.instanceTimeoutMs,
        soleServer: lock !== null,
      });
      const keys = new ApiKeyService(ctx);
      const executionsService = new ExecutionService(ctx);
      // Workflow Executions advance on the monitor's rhythm, and at once when an execution ends.
      const workflowEngine = new WorkflowEngine(ctx, executionsService, { intervalMs: config.monitorIntervalMs });
      loops.workflows = workflowEngine;
      const workflows = new WorkflowService(ctx, workflowEngine);
      const scheduler = new Scheduler(ctx, workflows, { intervalMs: config.schedulerIntervalMs });
      loops.scheduler = scheduler;
      // Services are watched on the monitor's rhythm, by servers that run their executor.
      const serviceManager = new ServiceManager(ctx);
      const serviceWatcher = [...executors.values()].some((e) => e.services) ? new ServiceWatcher(serviceManager, ctx, { intervalMs: config.monitorIntervalMs }) : null;
      const services: Services = {
        ctx,
        executions: executionsService,
        catalog: new CatalogService(ctx, workflows, notifications),
        notifications,
        workflows,
        services: serviceManager,
        keys,
        localOnly: config.localOnly,
        health: async () => {
          await ctx.store.listInstances();
          return {
            status: 'ok',
            version: BERTH_VERSION,
            database: ctx.store.dialect,
            instance_id: ctx.instanceId,
            executors: [...executors.keys()],
            local_only: config.localOnly,
          };
        },
      };
      const bootstrap = await keys.bootstrap(config.adminApiKey);
      const adopted = await registry.start();
      launcher.start();
      monitor.start();
      workflowEngine.start();
      liveness.start();
      scheduler.start();
      serviceWatcher?.start();
      notifier.start();
      const app = await buildApp(services);
      await app.listen({ host: config.host, port: config.port });
      const server = new BerthServer(config, ctx, services, app, launcher, monitor, liveness, registry, lock, bootstrap.key, adopted);
      server.workflowEngine = workflowEngine;
      server.scheduler = scheduler;
      server.serviceWatcher = serviceWatcher;
      server.notifier = notifier;
      listeningUrl = server.url;
      log.info('berth server listening', {
        url: server.url,
        database: store.dialect === 'sqlite' ? path.join(config.dataDir, 'berth.sqlite') : 'postgres',
        executors: [...executors.keys()],
        local_only: config.localOnly,
        adopted_executions: adopted,
      });
      return server;
    } catch (error) {
      await store?.close().catch(() => undefined);
      lock?.release();
      throw error;
    }
  }

  /**
   * Stops listening and stops the loops. Running processes keep running: the next server to
   * start on this database re-attaches to them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.app.close();
    await this.launcher.stop();
    await this.monitor.stop();
    await this.workflowEngine?.stop();
    await this.liveness.stop();
    await this.scheduler?.stop();
    await this.serviceWatcher?.stop();
    await this.notifier?.stop();
    await this.registry.stop().catch((error: unknown) => this.ctx.log.warn('could not deregister', { error }));
    for (const executor of this.ctx.executors.values()) await executor.close();
    await this.ctx.store.close();
    this.lock?.release();
    this.ctx.log.info('berth server stopped');
  }

  /** Counts for health checks and tests. */
  loopStats() {
    return {
      launcher: this.launcher.stats,
      monitor: this.monitor.stats,
      liveness: this.liveness.stats,
      scheduler: this.scheduler?.stats ?? { passes: 0, errors: 0, lastError: null },
      notifier: this.notifier?.stats ?? { passes: 0, errors: 0, lastError: null },
    };
  }
}
