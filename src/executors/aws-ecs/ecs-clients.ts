import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { TokenBucket } from './aws-calls.js';

/** Credentials as the SDK takes them (a provider function, or static keys in tests). */
export type Credentials = ConstructorParameters<typeof ECSClient>[0] extends infer C
  ? C extends { credentials?: infer K }
    ? K
    : never
  : never;

/** Region, endpoint and credentials of a Run Environment's clients, for building more clients like them. */
export interface AwsClientConfig {
  region: string;
  maxAttempts: number;
  endpoint?: string;
  credentials?: Credentials;
  /** Time limits of each HTTP request (the SDK waits forever without them). */
  requestHandler?: AwsTimeouts;
}

/** The SDK's shorthand for its Node.js HTTP handler's time limits, in ms. */
export interface AwsTimeouts {
  connectionTimeout: number;
  requestTimeout: number;
  /** Reject the call when requestTimeout passes (otherwise the SDK only logs a warning). */
  throwOnRequestTimeout: true;
}

/**
 * A call that gets no answer fails after these limits, as `TimeoutError` (an unknown outcome:
 * aws-calls.ts retries what is safe to repeat, and a RunTask is looked up by its token). Without
 * them one hung connection would stall the loop that made the call (monitor, service watcher).
 */
export const AWS_TIMEOUTS: AwsTimeouts = { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true };

export interface EcsClients {
  /** The settings these clients were built with (shared credentials: one assumed-role session). */
  config: AwsClientConfig;
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  /** For schedules kept as EventBridge rules (`schedules: eventbridge`). */
  events: EventBridgeClient;
  /** Shared by every RunTask through these credentials and region. */
  launches: TokenBucket;
}

export interface EcsClientFactoryOptions {
  /** Credentials used when a Run Environment has no role_arn. (Default: the SDK's default chain) */
  defaultCredentials?: Credentials;
  /** Time limits of every request. (Default: AWS_TIMEOUTS: 5 s to connect, 30 s for an answer) */
  timeouts?: AwsTimeouts;
}

/**
 * One set of clients per region, endpoint and control role, reused across calls. With a role_arn
 * every call runs as that role: the SDK assumes it (with the External ID) and refreshes the
 * temporary credentials before they expire. The clients do not retry by themselves: Berth's own
 * retry (aws-calls.ts) decides what is safe to repeat.
 */
export class EcsClientFactory {
  private readonly cache = new Map<string, EcsClients>();

  constructor(private readonly options: EcsClientFactoryOptions = {}) {}

  for(env: AwsEcsRunEnvironmentSpec): EcsClients {
    const key = [env.region, env.endpoint_url ?? '', env.role_arn ?? '', env.external_id ?? ''].join('|');
    let clients = this.cache.get(key);
    if (clients) return clients;
    const endpoint = env.endpoint_url ? { endpoint: env.endpoint_url } : {};
    const timeouts = this.options.timeouts ?? AWS_TIMEOUTS;
    const credentials: Credentials | undefined = env.role_arn
      ? fromTemporaryCredentials({
          params: {
            RoleArn: env.role_arn,
            RoleSessionName: 'berth-control-plane',
            DurationSeconds: 3600,
            ...(env.external_id ? { ExternalId: env.external_id } : {}),
          },
          clientConfig: {
            region: env.region,
            requestHandler: timeouts,
            ...endpoint,
            ...(this.options.defaultCredentials ? { credentials: this.options.defaultCredentials } : {}),
          },
        })
      : this.options.defaultCredentials;
    const config: AwsClientConfig = {
      region: env.region,
      maxAttempts: 1,
      requestHandler: timeouts,
      ...endpoint,
      ...(credentials ? { credentials } : {}),
    };
    clients = {
      config,
      ecs: new ECSClient(config),
      logs: new CloudWatchLogsClient(config),
      events: new EventBridgeClient(config),
      launches: new TokenBucket(env.launch_rate.burst, env.launch_rate.per_second),
    };
    this.cache.set(key, clients);
    return clients;
  }

  close(): void {
    for (const c of this.cache.values()) {
      c.ecs.destroy();
      c.logs.destroy();
      c.events.destroy();
    }
    this.cache.clear();
  }
}
