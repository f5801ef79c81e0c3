/**
 * How Berth calls AWS: errors sorted into what to do about them, retries with jittered
 * exponential backoff, and a token bucket that keeps RunTask within Fargate's launch rate.
 */

export type ErrorKind =
  /** Slow down and try again. */
  | 'throttled'
  /** AWS had a problem; try again. */
  | 'transient'
  /** The caller lacks a permission: say which action. */
  | 'denied'
  /** The request itself is wrong: do not retry. */
  | 'client'
  /** The request may or may not have taken effect (connection dropped): find out before repeating. */
  | 'unknown-outcome';

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'ThrottledException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'RequestThrottledException',
]);
const TRANSIENT = new Set(['ServerException', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'InternalError', 'InternalServerError']);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredTokenException']);
const NETWORK = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up|TimeoutError|other side closed|ENOTFOUND|EAI_AGAIN/i;

/** Sorts an error thrown by an AWS SDK call. */
export function classifyAwsError(thrown: unknown): ErrorKind {
  const e = (thrown ?? {}) as AwsLikeError;
  const name = e.name ?? '';
  const message = e.message ?? '';
  if (THROTTLING.has(name)) return 'throttled';
  // ECS sometimes reports throttling as InvalidParameterException; concurrent registration of
  // one family as ClientException.
  if ((name === 'InvalidParameterException' || name === 'ClientException') && /rate exceeded|throttl|too many concurrent attempts/i.test(message)) {
    return 'throttled';
  }
  if (DENIED.has(name) || name === 'CredentialsProviderError' || /not authorized to perform/i.test(message)) return 'denied';
  if (TRANSIENT.has(name)) return 'transient';
  const status = e.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'transient';
  if (status === undefined && (NETWORK.test(message) || NETWORK.test(e.code ?? '') || name === 'TimeoutError')) return 'unknown-outcome';
  if (status === undefined && e.$fault === undefined && !name.endsWith('Exception')) return 'unknown-outcome';
  return 'client';
}

export interface RetryOptions {
  /** Attempts in all, the first included. (Default: 6) */
  attempts: number;
  /** First backoff, in ms; doubles each time. (Default: 200) */
  baseDelayMs: number;
  /** Upper bound of one backoff, in ms. (Default: 10000) */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

/** "Full jitter": a random wait between 0 and the exponential bound, so retries spread out. */
export function backoffMs(options: RetryOptions, attempt: number, random: () => number = Math.random): number {
  const bound = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(bound * (0.5 + random() / 2));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a read-only call, retrying throttling, AWS-side errors and dropped connections with
 * backoff. Throws the last error when attempts run out or the error is not worth retrying.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: RetryOptions = DEFAULT_RETRY,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const kind = classifyAwsError(error);
      const retryable = kind === 'throttled' || kind === 'transient' || kind === 'unknown-outcome';
      if (!retryable || attempt >= options.attempts) throw error;
      await wait(backoffMs(options, attempt));
    }
  }
}

/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. `take` waits for a token. Shared by
 * every RunTask of one account and region (Fargate's launch limit is per account and region).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a token was taken; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeNow());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.wait(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}

/** A readable sentence for an AWS error, naming the action and, when denied, that it was a permission. */
export function describeAwsError(action: string, thrown: unknown): string {
  const e = (thrown ?? {}) as AwsLikeError;
  const kind = classifyAwsError(thrown);
  const text = e.message || e.name || String(thrown);
  if (e.name === 'CredentialsProviderError') {
    return `Berth found no AWS credentials for ${action}: ${text}. Give the server credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance or task role), and a role_arn to assume if the Run Environment needs one.`;
  }
  if (kind === 'denied') {
    return `AWS denied ${action}: ${text}. Give the role Berth uses that permission (docs/aws-ecs.md lists what Berth needs).`;
  }
  return `${action} failed (${e.name ?? 'error'}): ${text}`;
}
