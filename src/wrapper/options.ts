/**
 * berth-wrap's options: one table (`OPTIONS`) gives every option its flag, its environment
 * variables (`BERTH_WRAP_*` first, then proc_wrapper's names and the variables Berth's executors
 * inject), its type, unit and default. `parseWrapConfig` reads argv and the environment once,
 * validates every value (numbers included, with messages that name the flag or variable), and
 * returns a frozen `WrapConfig`; nothing else in the wrapper reads `process.env` for settings.
 *
 * Precedence: command-line flag > BERTH_WRAP_* > proc_wrapper's variable > Berth's injected one >
 * default. An empty variable counts as unset.
 */
import { isEnvName, parseLocation } from './secret-location.js';
import type { EnvFromSpec, SecretSpec } from './secrets.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type WrapLogLevel = (typeof LOG_LEVELS)[number];

export interface WrapConfig {
  /** The program and its arguments. */
  command: readonly string[];
  /** Berth's base URL without a trailing slash or `/api/v1`; null = offline (just run the command). */
  apiUrl: string | null;
  apiKey: string | null;
  executionUuid: string | null;
  taskName: string | null;
  taskUuid: string | null;
  autoCreateTask: boolean;
  runEnvironment: string | null;
  taskMaxConcurrency: number | null;
  taskVersionNumber: number | null;
  taskVersionText: string | null;
  taskVersionSignature: string | null;
  heartbeatIntervalSeconds: number;
  statusUpdateIntervalSeconds: number;
  timeoutSeconds: number | null;
  terminationGracePeriodSeconds: number;
  maxRetries: number;
  retryDelaySeconds: number;
  retryBackoffMultiplier: number;
  retryOnTimeout: boolean;
  preventOfflineExecution: boolean;
  statusListener: boolean;
  statusPort: number;
  statusMessageMaxBytes: number;
  logTailLines: number;
  logTailLinesOnSuccess: number;
  maxLogLineLength: number;
  apiRequestTimeoutSeconds: number;
  apiRetryDelaySeconds: number;
  apiCreationTimeoutSeconds: number;
  apiConflictTimeoutSeconds: number;
  apiFinalUpdateTimeoutSeconds: number;
  awsRegion: string | null;
  awsEndpointUrl: string | null;
  ecsMetadataUri: string | null;
  logLevel: WrapLogLevel;
  secrets: readonly SecretSpec[];
  envFrom: readonly EnvFromSpec[];
}

type Kind =
  | { type: 'string' }
  | { type: 'url' }
  | { type: 'uuid' }
  | { type: 'boolean' }
  | { type: 'level' }
  | { type: 'seconds'; min: number; exclusive?: boolean; max?: number }
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min: number; max: number };

/** One option: how to set it and what it means. The docs' table is checked against this. */
export interface OptionSpec {
  key: keyof WrapConfig;
  flag: string;
  /** Environment variables, in order of precedence. */
  env: readonly string[];
  kind: Kind;
  /** The default as a person reads it (null = none). */
  defaultText: string | null;
  help: string;
  /** The placeholder in --help. */
  arg?: string;
}

const seconds = (min: number, exclusive = false): Kind => ({ type: 'seconds', min, exclusive });
const integer = (min: number, max: number): Kind => ({ type: 'integer', min, max });

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'apiUrl',
    flag: '--api-url',
    env: ['BERTH_WRAP_API_URL', 'PROC_WRAPPER_API_BASE_URL'],
    kind: { type: 'url' },
    defaultText: null,
    arg: 'URL',
    help: "Berth's base URL, e.g. https://berth.example.com. Without it berth-wrap reports nothing and just runs the command.",
  },
  {
    key: 'apiKey',
    flag: '--api-key',
    env: ['BERTH_WRAP_API_KEY', 'PROC_WRAPPER_API_KEY'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'KEY',
    help: 'A Berth API key (a reporter key is enough). Prefer the variable: flags show up in process lists. Not passed on to the command.',
  },
  {
    key: 'executionUuid',
    flag: '--execution-uuid',
    env: ['BERTH_WRAP_EXECUTION_UUID', 'PROC_WRAPPER_TASK_EXECUTION_UUID', 'BERTH_TASK_EXECUTION_UUID'],
    kind: { type: 'uuid' },
    defaultText: null,
    arg: 'UUID',
    help: 'Report on this existing execution (one Berth started): mark it RUNNING instead of creating one.',
  },
  {
    key: 'taskName',
    flag: '--task',
    env: ['BERTH_WRAP_TASK', 'PROC_WRAPPER_TASK_NAME', 'BERTH_TASK_NAME'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'NAME',
    help: 'The Task to create an execution of, by name (when no execution uuid is given).',
  },
  {
    key: 'taskUuid',
    flag: '--task-uuid',
    env: ['BERTH_WRAP_TASK_UUID', 'PROC_WRAPPER_TASK_UUID'],
    kind: { type: 'uuid' },
    defaultText: null,
    arg: 'UUID',
    help: 'The Task by uuid instead of by name.',
  },
  {
    key: 'autoCreateTask',
    flag: '--auto-create-task',
    env: ['BERTH_WRAP_AUTO_CREATE_TASK', 'PROC_WRAPPER_AUTO_CREATE_TASK'],
    kind: { type: 'boolean' },
    defaultText: 'false',
    help: 'Let Berth create the Task (passive: Berth only records its runs) if no Task has this name.',
  },
  {
    key: 'runEnvironment',
    flag: '--run-environment',
    env: ['BERTH_WRAP_RUN_ENVIRONMENT', 'PROC_WRAPPER_AUTO_CREATE_TASK_RUN_ENVIRONMENT_NAME'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'NAME',
    help: 'The Run Environment of an auto-created Task.',
  },
  {
    key: 'taskMaxConcurrency',
    flag: '--task-max-concurrency',
    env: ['BERTH_WRAP_TASK_MAX_CONCURRENCY', 'PROC_WRAPPER_TASK_MAX_CONCURRENCY'],
    kind: integer(-1, 1_000_000),
    defaultText: null,
    arg: 'N',
    help: 'Concurrency limit sent with the start report (-1 = none); Berth answers 409 when it is reached.',
  },
  {
    key: 'taskVersionNumber',
    flag: '--task-version-number',
    env: ['BERTH_WRAP_TASK_VERSION_NUMBER', 'PROC_WRAPPER_TASK_VERSION_NUMBER'],
    kind: integer(0, Number.MAX_SAFE_INTEGER),
    defaultText: null,
    arg: 'N',
    help: 'Version of the code being run, as a number.',
  },
  {
    key: 'taskVersionText',
    flag: '--task-version-text',
    env: ['BERTH_WRAP_TASK_VERSION_TEXT', 'PROC_WRAPPER_TASK_VERSION_TEXT'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'TEXT',
    help: 'Version of the code being run, as text (e.g. 1.4.2).',
  },
  {
    key: 'taskVersionSignature',
    flag: '--task-version-signature',
    env: ['BERTH_WRAP_TASK_VERSION_SIGNATURE', 'PROC_WRAPPER_TASK_VERSION_SIGNATURE'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'TEXT',
    help: 'Version of the code being run, as a signature (e.g. a git commit).',
  },
  {
    key: 'heartbeatIntervalSeconds',
    flag: '--heartbeat-interval',
    env: ['BERTH_WRAP_HEARTBEAT_INTERVAL', 'PROC_WRAPPER_API_HEARTBEAT_INTERVAL_SECONDS'],
    kind: seconds(0.05),
    defaultText: '30',
    arg: 'SECONDS',
    help: 'Seconds between heartbeats. A stop requested in Berth reaches berth-wrap with the next heartbeat.',
  },
  {
    key: 'statusUpdateIntervalSeconds',
    flag: '--status-update-interval',
    env: ['BERTH_WRAP_STATUS_UPDATE_INTERVAL', 'PROC_WRAPPER_STATUS_UPDATE_INTERVAL_SECONDS'],
    kind: seconds(0),
    defaultText: '5',
    arg: 'SECONDS',
    help: "Least seconds between two reports of the command's status updates (they are sent promptly, at most this often).",
  },
  {
    key: 'timeoutSeconds',
    flag: '--timeout',
    env: ['BERTH_WRAP_TIMEOUT', 'PROC_WRAPPER_PROCESS_TIMEOUT_SECONDS'],
    kind: seconds(0, true),
    defaultText: null,
    arg: 'SECONDS',
    help: 'Longest an attempt may run; then it is terminated (SIGTERM, SIGKILL after the grace period).',
  },
  {
    key: 'terminationGracePeriodSeconds',
    flag: '--termination-grace-period',
    env: ['BERTH_WRAP_TERMINATION_GRACE_PERIOD', 'PROC_WRAPPER_PROCESS_TERMINATION_GRACE_PERIOD_SECONDS'],
    kind: seconds(0),
    defaultText: '25',
    arg: 'SECONDS',
    help: "Seconds between SIGTERM and SIGKILL when the command's process group is terminated (below the 30 s that ECS and Berth give berth-wrap itself).",
  },
  {
    key: 'maxRetries',
    flag: '--max-retries',
    env: ['BERTH_WRAP_MAX_RETRIES', 'PROC_WRAPPER_PROCESS_MAX_RETRIES'],
    kind: integer(0, 1000),
    defaultText: '0',
    arg: 'N',
    help: 'Attempts after the first when the command fails (non-zero exit or a signal).',
  },
  {
    key: 'retryDelaySeconds',
    flag: '--retry-delay',
    env: ['BERTH_WRAP_RETRY_DELAY', 'PROC_WRAPPER_PROCESS_RETRY_DELAY_SECONDS'],
    kind: seconds(0),
    defaultText: '10',
    arg: 'SECONDS',
    help: 'Seconds to wait before the first retry.',
  },
  {
    key: 'retryBackoffMultiplier',
    flag: '--retry-backoff-multiplier',
    env: ['BERTH_WRAP_RETRY_BACKOFF_MULTIPLIER'],
    kind: { type: 'number', min: 1, max: 100 },
    defaultText: '1',
    arg: 'X',
    help: 'Each further retry waits this many times longer (1 = constant delay).',
  },
  {
    key: 'retryOnTimeout',
    flag: '--retry-on-timeout',
    env: ['BERTH_WRAP_RETRY_ON_TIMEOUT'],
    kind: { type: 'boolean' },
    defaultText: 'false',
    help: 'Retry an attempt that timed out too.',
  },
  {
    key: 'preventOfflineExecution',
    flag: '--prevent-offline-execution',
    env: ['BERTH_WRAP_PREVENT_OFFLINE_EXECUTION', 'PROC_WRAPPER_PREVENT_OFFLINE_EXECUTION'],
    kind: { type: 'boolean' },
    defaultText: 'false',
    help: 'Do not run the command unless Berth has acknowledged the start (exit 75 after --api-creation-timeout).',
  },
  {
    key: 'statusListener',
    flag: '--status-listener',
    env: ['BERTH_WRAP_STATUS_LISTENER', 'PROC_WRAPPER_ENABLE_STATUS_UPDATE_LISTENER'],
    kind: { type: 'boolean' },
    defaultText: 'false',
    help: 'Listen for status updates from the command (UDP on 127.0.0.1) and forward them to Berth.',
  },
  {
    key: 'statusPort',
    flag: '--status-port',
    env: ['BERTH_WRAP_STATUS_PORT', 'PROC_WRAPPER_STATUS_UPDATE_SOCKET_PORT'],
    kind: integer(0, 65535),
    defaultText: '2373',
    arg: 'PORT',
    help: 'UDP port of the status listener (0 = any free port). The command finds the port in use in the same variables.',
  },
  {
    key: 'statusMessageMaxBytes',
    flag: '--status-message-max-bytes',
    env: ['BERTH_WRAP_STATUS_MESSAGE_MAX_BYTES', 'PROC_WRAPPER_STATUS_UPDATE_MESSAGE_MAX_BYTES'],
    kind: integer(64, 65536),
    defaultText: '65536',
    arg: 'BYTES',
    help: 'Largest status datagram accepted; larger ones are dropped with a warning.',
  },
  {
    key: 'logTailLines',
    flag: '--log-tail-lines',
    env: ['BERTH_WRAP_LOG_TAIL_LINES', 'PROC_WRAPPER_NUM_LOG_LINES_SENT_ON_FAILURE'],
    kind: integer(0, 10_000),
    defaultText: '50',
    arg: 'N',
    help: 'Last lines of stdout and of stderr sent to Berth when the command fails or times out (0 = none).',
  },
  {
    key: 'logTailLinesOnSuccess',
    flag: '--log-tail-lines-on-success',
    env: ['BERTH_WRAP_LOG_TAIL_LINES_ON_SUCCESS', 'PROC_WRAPPER_NUM_LOG_LINES_SENT_ON_SUCCESS'],
    kind: integer(0, 10_000),
    defaultText: '0',
    arg: 'N',
    help: 'The same when it succeeds.',
  },
  {
    key: 'maxLogLineLength',
    flag: '--max-log-line-length',
    env: ['BERTH_WRAP_MAX_LOG_LINE_LENGTH', 'PROC_WRAPPER_MAX_LOG_LINE_LENGTH'],
    kind: integer(1, 100_000),
    defaultText: '1000',
    arg: 'CHARS',
    help: 'Longer lines are cut (in the tails sent to Berth only; the output itself is untouched).',
  },
  {
    key: 'apiRequestTimeoutSeconds',
    flag: '--api-request-timeout',
    env: ['BERTH_WRAP_API_REQUEST_TIMEOUT', 'PROC_WRAPPER_API_REQUEST_TIMEOUT_SECONDS'],
    kind: seconds(0, true),
    defaultText: '30',
    arg: 'SECONDS',
    help: 'Longest wait for one answer from Berth.',
  },
  {
    key: 'apiRetryDelaySeconds',
    flag: '--api-retry-delay',
    env: ['BERTH_WRAP_API_RETRY_DELAY', 'PROC_WRAPPER_API_RETRY_DELAY_SECONDS'],
    kind: seconds(0, true),
    defaultText: '1',
    arg: 'SECONDS',
    help: 'First wait before retrying a report (429, 502, 503, 504, no answer); it doubles up to 60 s, and Retry-After wins.',
  },
  {
    key: 'apiCreationTimeoutSeconds',
    flag: '--api-creation-timeout',
    env: ['BERTH_WRAP_API_CREATION_TIMEOUT', 'PROC_WRAPPER_API_CREATION_ERROR_TIMEOUT_SECONDS'],
    kind: seconds(0),
    defaultText: '300',
    arg: 'SECONDS',
    help: 'How long to keep trying to report the start when Berth cannot be reached (the command runs meanwhile unless --prevent-offline-execution).',
  },
  {
    key: 'apiConflictTimeoutSeconds',
    flag: '--api-conflict-timeout',
    env: ['BERTH_WRAP_API_CONFLICT_TIMEOUT', 'PROC_WRAPPER_API_CREATION_CONFLICT_TIMEOUT_SECONDS'],
    kind: seconds(0),
    defaultText: '60',
    arg: 'SECONDS',
    help: 'How long to keep asking while Berth answers 409 (the Task is at its concurrency limit) before exiting 75.',
  },
  {
    key: 'apiFinalUpdateTimeoutSeconds',
    flag: '--api-final-update-timeout',
    env: ['BERTH_WRAP_API_FINAL_UPDATE_TIMEOUT', 'PROC_WRAPPER_API_FINAL_UPDATE_TIMEOUT_SECONDS'],
    kind: seconds(0),
    defaultText: '120',
    arg: 'SECONDS',
    help: 'How long to keep retrying the finish report before exiting anyway.',
  },
  {
    key: 'awsRegion',
    flag: '--aws-region',
    env: ['BERTH_WRAP_AWS_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    kind: { type: 'string' },
    defaultText: null,
    arg: 'REGION',
    help: 'Region for AWS secrets given by name (an ARN carries its own).',
  },
  {
    key: 'awsEndpointUrl',
    flag: '--aws-endpoint-url',
    env: ['BERTH_WRAP_AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL'],
    kind: { type: 'url' },
    defaultText: null,
    arg: 'URL',
    help: "Send AWS calls here instead of AWS's endpoints (a VPC endpoint, or moto in tests).",
  },
  {
    key: 'ecsMetadataUri',
    flag: '--ecs-metadata-uri',
    env: ['BERTH_WRAP_ECS_METADATA_URI', 'ECS_CONTAINER_METADATA_URI_V4'],
    kind: { type: 'url' },
    defaultText: 'set by ECS',
    arg: 'URL',
    help: 'ECS task metadata endpoint (v4); its task ARN, CPU, memory and zone are sent with the start report.',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: ['BERTH_WRAP_LOG_LEVEL', 'PROC_WRAPPER_LOG_LEVEL'],
    kind: { type: 'level' },
    defaultText: 'info',
    arg: 'LEVEL',
    help: "berth-wrap's own messages on stderr: error, warn, info or debug.",
  },
];

/** Options that take several values: not in `OPTIONS` because they do not map one-to-one. */
export const LIST_OPTIONS = {
  secret: {
    flag: '--secret',
    arg: 'NAME=LOCATION',
    env: ['BERTH_WRAP_SECRET_<NAME>', '<NAME>_FOR_PROC_WRAPPER_TO_RESOLVE'],
    help: "Set NAME in the command's environment from LOCATION (see Secrets). Repeatable.",
  },
  envFrom: {
    flag: '--env-from',
    arg: 'LOCATION',
    env: ['BERTH_WRAP_ENV_FROM', 'PROC_WRAPPER_ENV_LOCATIONS'],
    help: 'Set every variable of a dotenv or JSON document. Repeatable; the variables take a comma-separated list.',
  },
  command: {
    flag: '-- COMMAND ARGS…',
    env: ['BERTH_WRAP_COMMAND', 'PROC_WRAPPER_TASK_COMMAND'],
    help: 'The command. From a variable (when no arguments are given) it runs through /bin/sh -c.',
  },
} as const;

/** Variables the wrapper consumes that the command does not see. */
export const API_KEY_VARIABLES = ['BERTH_WRAP_API_KEY', 'PROC_WRAPPER_API_KEY'] as const;
export const SECRET_PREFIX = 'BERTH_WRAP_SECRET_';
export const PROC_WRAPPER_SECRET_SUFFIX = '_FOR_PROC_WRAPPER_TO_RESOLVE';

export type ParseResult =
  | { kind: 'config'; config: WrapConfig }
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

const DEFAULTS: Omit<WrapConfig, 'command' | 'secrets' | 'envFrom'> = {
  apiUrl: null,
  apiKey: null,
  executionUuid: null,
  taskName: null,
  taskUuid: null,
  autoCreateTask: false,
  runEnvironment: null,
  taskMaxConcurrency: null,
  taskVersionNumber: null,
  taskVersionText: null,
  taskVersionSignature: null,
  heartbeatIntervalSeconds: 30,
  statusUpdateIntervalSeconds: 5,
  timeoutSeconds: null,
  // Below the 30 s ECS (stopTimeout) and Berth's local executor wait before they SIGKILL
  // berth-wrap itself: it must have ended its command, and reported, by then.
  terminationGracePeriodSeconds: 25,
  maxRetries: 0,
  retryDelaySeconds: 10,
  retryBackoffMultiplier: 1,
  retryOnTimeout: false,
  preventOfflineExecution: false,
  statusListener: false,
  statusPort: 2373,
  statusMessageMaxBytes: 65536,
  logTailLines: 50,
  logTailLinesOnSuccess: 0,
  maxLogLineLength: 1000,
  apiRequestTimeoutSeconds: 30,
  apiRetryDelaySeconds: 1,
  apiCreationTimeoutSeconds: 300,
  apiConflictTimeoutSeconds: 60,
  apiFinalUpdateTimeoutSeconds: 120,
  awsRegion: null,
  awsEndpointUrl: null,
  ecsMetadataUri: null,
  logLevel: 'info',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

class ConfigError extends Error {}

/** Converts one text value; `where` names the flag or variable for the message. */
function convert(spec: OptionSpec, text: string, where: string): unknown {
  const fail = (expected: string): never => {
    throw new ConfigError(`${where}: expected ${expected}, got ${JSON.stringify(text)}`);
  };
  const kind = spec.kind;
  switch (kind.type) {
    case 'string':
      return text;
    case 'url': {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return fail('an http(s) URL such as https://berth.example.com');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('an http(s) URL such as https://berth.example.com');
      return text;
    }
    case 'uuid':
      return UUID.test(text) ? text.toLowerCase() : fail('a uuid such as 0f8fad5b-d9cb-469f-a165-70867728950e');
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      return fail('true or false');
    }
    case 'level': {
      const lower = text.toLowerCase() === 'warning' ? 'warn' : text.toLowerCase();
      return (LOG_LEVELS as readonly string[]).includes(lower) ? lower : fail(LOG_LEVELS.join(', '));
    }
    case 'seconds': {
      const value = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
      const bound = `${kind.exclusive ? 'greater than' : 'at least'} ${kind.min}`;
      if (!Number.isFinite(value)) return fail(`a number of seconds (${bound}), like 30 or 0.5`);
      if (kind.exclusive ? value <= kind.min : value < kind.min) return fail(`a number of seconds ${bound}`);
      if (kind.max !== undefined && value > kind.max) return fail(`a number of seconds at most ${kind.max}`);
      return value;
    }
    case 'integer': {
      const value = /^\s*-?\d+\s*$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value)) return fail(`a whole number from ${kind.min} to ${kind.max}`);
      if (value < kind.min || value > kind.max) return fail(`a whole number from ${kind.min} to ${kind.max}`);
      return value;
    }
    case 'number': {
      const value = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(value) || value < kind.min || value > kind.max) return fail(`a number from ${kind.min} to ${kind.max}`);
      return value;
    }
  }
}

const BY_FLAG = new Map(OPTIONS.map((o) => [o.flag, o]));

/**
 * Reads the options from argv (without `node` and the script) and the environment. Never throws:
 * a problem comes back as `{kind: 'error', message}` naming the flag or variable.
 */
export function parseWrapConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  try {
    return parse(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return { kind: 'error', message: error.message };
    throw error;
  }
}

function parse(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  const fromFlags = new Map<keyof WrapConfig, unknown>();
  const secretFlags: string[] = [];
  const envFromFlags: string[] = [];
  let command: string[] | null = null;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      command = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      command = argv.slice(i);
      break;
    }
    if (arg === '-h' || arg === '--help') return { kind: 'help', text: helpText() };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next === '--') throw new ConfigError(`${name} needs a value`);
      i++;
      return next;
    };
    if (name === LIST_OPTIONS.secret.flag) {
      secretFlags.push(takeValue());
      continue;
    }
    if (name === LIST_OPTIONS.envFrom.flag) {
      envFromFlags.push(takeValue());
      continue;
    }
    const negated = name.startsWith('--no-') ? BY_FLAG.get(`--${name.slice(5)}`) : undefined;
    if (negated?.kind.type === 'boolean' && inline === undefined) {
      fromFlags.set(negated.key, false);
      continue;
    }
    const spec = BY_FLAG.get(name);
    if (!spec) throw new ConfigError(`unknown option ${name} (berth-wrap --help lists them; put the command after --)`);
    if (spec.kind.type === 'boolean' && inline === undefined) fromFlags.set(spec.key, true);
    else fromFlags.set(spec.key, convert(spec, takeValue(), name));
  }

  const values: Record<string, unknown> = { ...DEFAULTS };
  for (const spec of OPTIONS) {
    if (fromFlags.has(spec.key)) {
      values[spec.key] = fromFlags.get(spec.key);
      continue;
    }
    for (const variable of spec.env) {
      const text = env[variable];
      if (text === undefined || text === '') continue;
      values[spec.key] = convert(spec, text, variable);
      break;
    }
  }
  const config = values as Omit<WrapConfig, 'command' | 'secrets' | 'envFrom'>;

  if (command === null || command.length === 0) {
    const text = env.BERTH_WRAP_COMMAND || env.PROC_WRAPPER_TASK_COMMAND;
    if (!text) throw new ConfigError('nothing to run: berth-wrap [options] -- COMMAND [ARGS…] (or set BERTH_WRAP_COMMAND)');
    command = ['/bin/sh', '-c', text];
  }

  const apiUrl = config.apiUrl === null ? null : normaliseApiUrl(config.apiUrl);
  if (apiUrl !== null && !config.executionUuid && !config.taskName && !config.taskUuid) {
    throw new ConfigError(
      `${apiUrl} is set but not which Task to report on: give --task NAME (BERTH_WRAP_TASK) or --execution-uuid UUID (BERTH_WRAP_EXECUTION_UUID)`,
    );
  }
  if (config.autoCreateTask && !config.taskName) throw new ConfigError('--auto-create-task needs the Task\'s name: --task NAME (BERTH_WRAP_TASK)');

  return {
    kind: 'config',
    config: Object.freeze({
      ...config,
      apiUrl,
      command: Object.freeze([...command]),
      secrets: Object.freeze(collectSecrets(secretFlags, env)),
      envFrom: Object.freeze(collectEnvFrom(envFromFlags, env)),
    }),
  };
}

/** `https://b.example.com/api/v1/` → `https://b.example.com`: paths are added per request. */
function normaliseApiUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

function collectSecrets(flags: readonly string[], env: Readonly<Record<string, string | undefined>>): SecretSpec[] {
  const byName = new Map<string, SecretSpec>();
  const add = (name: string, text: string, source: string) => {
    if (!isEnvName(name)) throw new ConfigError(`${source}: "${name}" is not a valid environment variable name`);
    const parsed = parseLocation(text);
    if (!parsed.ok) throw new ConfigError(`${source}: ${parsed.message}`);
    byName.set(name, { name, location: parsed.value, source });
  };
  // Lowest precedence first, so that later ones replace earlier ones.
  for (const [variable, text] of Object.entries(env)) {
    if (text === undefined || text === '') continue;
    if (variable.endsWith(PROC_WRAPPER_SECRET_SUFFIX) && variable.length > PROC_WRAPPER_SECRET_SUFFIX.length) {
      add(variable.slice(0, -PROC_WRAPPER_SECRET_SUFFIX.length), text, variable);
    }
  }
  for (const [variable, text] of Object.entries(env)) {
    if (text === undefined || text === '') continue;
    if (variable.startsWith(SECRET_PREFIX) && variable.length > SECRET_PREFIX.length) add(variable.slice(SECRET_PREFIX.length), text, variable);
  }
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--secret: expected NAME=LOCATION, like DB_PASSWORD=AWS_SM:prod/db|JP:$.password`);
    add(flag.slice(0, eq), flag.slice(eq + 1), `--secret ${flag.slice(0, eq)}`);
  }
  return [...byName.values()];
}

function collectEnvFrom(flags: readonly string[], env: Readonly<Record<string, string | undefined>>): EnvFromSpec[] {
  let texts: { text: string; source: string }[] = flags.map((text) => ({ text, source: '--env-from' }));
  if (texts.length === 0) {
    for (const variable of LIST_OPTIONS.envFrom.env) {
      const value = env[variable];
      if (!value) continue;
      texts = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((text) => ({ text, source: variable }));
      break;
    }
  }
  return texts.map(({ text, source }) => {
    const parsed = parseLocation(text);
    if (!parsed.ok) throw new ConfigError(`${source}: ${parsed.message}`);
    return { location: parsed.value, source };
  });
}

/** `berth-wrap --help`. */
export function helpText(): string {
  const rows: [string, string][] = [];
  for (const spec of OPTIONS) {
    const flag = spec.kind.type === 'boolean' ? spec.flag : `${spec.flag} ${spec.arg ?? 'VALUE'}`;
    const tail = [spec.env.join(', '), spec.defaultText !== null ? `default ${spec.defaultText}` : null].filter(Boolean).join('; ');
    rows.push([flag, `${spec.help} [${tail}]`]);
  }
  for (const list of [LIST_OPTIONS.secret, LIST_OPTIONS.envFrom]) rows.push([`${list.flag} ${list.arg}`, `${list.help} [${list.env.join(', ')}]`]);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    'Usage: berth-wrap [options] -- COMMAND [ARGS…]',
    '',
    'Runs COMMAND and reports its start, heartbeats, status and end to Berth. Without an API URL it',
    'just runs the command. Every option can also be set by the environment variables shown.',
    '',
    ...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`),
    `  ${'-h, --help'.padEnd(width)}  This text.`,
    `  ${'-V, --version'.padEnd(width)}  The version.`,
    '',
    'Exit codes, secrets syntax and the status-update protocol: docs/berth-wrap.md.',
  ].join('\n');
}
