import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues, issuesToText } from '../domain/common.js';

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])])
  .transform((v) => (typeof v === 'boolean' ? v : ['true', '1', 'on', 'yes'].includes(v)));

/** A whole number in [min, max], from a flag or an environment variable (text), with a message that says what to give. */
const intFrom = (min: number, max: number) => {
  const expected = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ message: expected }).int({ message: expected }).min(min, { message: expected }).max(max, { message: expected });
};

/**
 * Settings of `berth server`, validated once at start-up and frozen. Sources, later ones win:
 * defaults, `BERTH_*` environment variables, command-line flags.
 */
export const ServerConfig = z
  .strictObject({
    /** Interface to listen on. (Default: 127.0.0.1; use 0.0.0.0 to accept remote connections) */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one. (Default: 7878) */
    port: intFrom(0, 65535).default(7878),
    /** Directory for the SQLite file, execution logs and the server lock. (Default: see defaultDataDir) */
    dataDir: z.string().min(1),
    /** `postgres://…` to use PostgreSQL instead of the SQLite file. (Default: none) */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql://' })
      .optional(),
    /** PostgreSQL schema. (Default: public) */
    databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(),
    /** Whether this server may run local child processes. (Default: true) */
    localExecutor: bool.default(true),
    /**
     * Most local attempts one runner process runs: starts that arrive together share a runner
     * (one Node.js start-up instead of one each); a runner killed by SIGKILL loses the exit status
     * of all its attempts. 1 gives each attempt its own runner. (Default: 16)
     */
    localRunnerBatchSize: intFrom(1, 256).default(16),
    /**
     * Local-only mode: requests from this machine without an API key act as admin. Only allowed
     * when listening on a loopback address. (Default: false)
     */
    localOnly: bool.default(false),
    /** Used as the admin key on the first start instead of generating one. Never logged. */
    adminApiKey: z.string().min(20, { message: 'must be at least 20 characters' }).optional(),
    /** Milliseconds between monitor passes (the local executor also wakes it on exits). (Default: 1000) */
    monitorIntervalMs: intFrom(10, 600_000).default(1000),
    /** Milliseconds between launcher passes (new executions also wake it). (Default: 1000) */
    launcherIntervalMs: intFrom(10, 600_000).default(1000),
    /**
     * Milliseconds between liveness passes: missing heartbeats, start deadlines, missed scheduled
     * runs. Detection is at most this late. (Default: 5000)
     */
    livenessIntervalMs: intFrom(10, 600_000).default(5000),
    /**
     * Longest sleep (ms) of the scheduler between passes: it wakes at the next due fire, and at
     * once when this server changes a schedule; this bounds how late it sees a change made
     * through another server. (Default: 5000)
     */
    schedulerIntervalMs: intFrom(10, 600_000).default(5000),
    /** Milliseconds between this server's liveness heartbeats in the database. (Default: 5000) */
    instanceHeartbeatMs: intFrom(100, 600_000).default(5000),
    /** A server silent this long (ms) is dead; another adopts its executions. (Default: 30000) */
    instanceTimeoutMs: intFrom(1000, 3_600_000).default(30_000),
    /** Executions claimed per launcher pass. (Default: 50) */
    launchBatchSize: intFrom(1, 1000).default(50),
    /** Starts in flight at once. (Default: 16) */
    launchConcurrency: intFrom(1, 256).default(16),
    /** Milliseconds between notifier passes: events to incidents, deliveries sent and retried. (Default: 1000) */
    notifierIntervalMs: intFrom(10, 600_000).default(1000),
    /**
     * Base URL of links in notifications (Slack buttons, e-mails, webhooks), as people reach this
     * server, e.g. https://berth.example.com. (Default: the URL the server listens on)
     */
    publicUrl: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http:// or https:// URL, like https://berth.example.com' })
      .optional(),
    /**
     * Key for inline delivery secrets (AES-256-GCM): 64 hex digits or base64 of 32 bytes. Never
     * logged. Several servers on one database need the same one. (Default: a key file generated
     * in the data directory, mode 0600)
     */
    encryptionKey: z.string().min(1).optional(),
    /** Log level. (Default: info) */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Log lines as JSON or as readable text. (Default: pretty on a terminal, else json) */
    logFormat: z.enum(['json', 'pretty']).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.localOnly && !isLoopback(c.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: `local-only mode trusts every caller without a key, so it only listens on a loopback address; got host ${c.host}`,
      });
    }
    if (c.instanceTimeoutMs <= c.instanceHeartbeatMs * 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['instanceTimeoutMs'],
        message: 'must be more than twice instanceHeartbeatMs, or live servers would look dead',
      });
    }
  });
export type ServerConfig = Readonly<z.infer<typeof ServerConfig>>;
export type ServerConfigInput = z.input<typeof ServerConfig>;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** `$BERTH_DATA_DIR`, else `$XDG_DATA_HOME/berth`, else `~/.local/share/berth` (macOS: `~/Library/Application Support/berth`). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_DATA_DIR) return path.resolve(env.BERTH_DATA_DIR);
  if (env.XDG_DATA_HOME) return path.join(env.XDG_DATA_HOME, 'berth');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'berth');
  return path.join(os.homedir(), '.local', 'share', 'berth');
}

const ENV_NAMES: Record<string, keyof ServerConfigInput> = {
  BERTH_HOST: 'host',
  BERTH_PORT: 'port',
  BERTH_DATA_DIR: 'dataDir',
  BERTH_DATABASE_URL: 'databaseUrl',
  BERTH_DATABASE_SCHEMA: 'databaseSchema',
  BERTH_LOCAL_EXECUTOR: 'localExecutor',
  BERTH_LOCAL_ONLY: 'localOnly',
  BERTH_LOCAL_RUNNER_BATCH_SIZE: 'localRunnerBatchSize',
  BERTH_ADMIN_API_KEY: 'adminApiKey',
  BERTH_MONITOR_INTERVAL_MS: 'monitorIntervalMs',
  BERTH_LAUNCHER_INTERVAL_MS: 'launcherIntervalMs',
  BERTH_LIVENESS_INTERVAL_MS: 'livenessIntervalMs',
  BERTH_SCHEDULER_INTERVAL_MS: 'schedulerIntervalMs',
  BERTH_INSTANCE_HEARTBEAT_MS: 'instanceHeartbeatMs',
  BERTH_INSTANCE_TIMEOUT_MS: 'instanceTimeoutMs',
  BERTH_LAUNCH_BATCH_SIZE: 'launchBatchSize',
  BERTH_LAUNCH_CONCURRENCY: 'launchConcurrency',
  BERTH_NOTIFIER_INTERVAL_MS: 'notifierIntervalMs',
  BERTH_PUBLIC_URL: 'publicUrl',
  BERTH_ENCRYPTION_KEY: 'encryptionKey',
  BERTH_LOG_LEVEL: 'logLevel',
  BERTH_LOG_FORMAT: 'logFormat',
};

/** The environment variable that sets each setting, for error messages and docs. */
export const ENV_FOR_SETTING = Object.fromEntries(Object.entries(ENV_NAMES).map(([k, v]) => [v, k])) as Record<
  string,
  string
>;

/**
 * Builds the configuration from environment variables and flags, or throws an Error whose
 * message lists every bad setting with the variable or flag that set it.
 */
export function loadServerConfig(
  flags: Partial<Record<keyof ServerConfigInput, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const input: Record<string, unknown> = { dataDir: defaultDataDir(env) };
  for (const [name, key] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) input[key] = value;
  const parsed = ServerConfig.safeParse(input);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error).map((i) => {
      const envName = ENV_FOR_SETTING[i.path];
      return { ...i, path: envName ? `${i.path} (${envName})` : i.path };
    });
    throw new Error(`Invalid server settings:\n${issuesToText(issues)}`);
  }
  const config = { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
  return Object.freeze(config);
}
