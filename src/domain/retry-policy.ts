/**
 * Retry policy of a Task: how many more attempts after the first, and how long to wait.
 *
 * The delay before attempt n+1 (n ≥ 1 attempts already made) is
 * `retry_delay_seconds × retry_backoff_multiplier^(n-1)`, capped by `max_retry_delay_seconds`.
 */
export interface RetryPolicy {
  /** Attempts after the first one. 0 = never retry. (Default: 0) */
  max_retries: number;
  /** Seconds to wait before the first retry. (Default: 10) */
  retry_delay_seconds: number;
  /** Each further retry waits this many times longer; 1 = constant delay. (Default: 1) */
  retry_backoff_multiplier: number;
  /** Upper bound on any one delay, in seconds; null = no bound. (Default: null) */
  max_retry_delay_seconds: number | null;
  /** Whether an attempt that timed out is retried too. (Default: false) */
  retry_on_timeout: boolean;
}

/** Delay in milliseconds before the next attempt, given how many attempts were already made. */
export function retryDelayMs(policy: RetryPolicy, attemptsMade: number): number {
  const exponent = Math.max(0, attemptsMade - 1);
  let seconds = policy.retry_delay_seconds * Math.pow(policy.retry_backoff_multiplier, exponent);
  if (policy.max_retry_delay_seconds !== null) seconds = Math.min(seconds, policy.max_retry_delay_seconds);
  return Math.round(seconds * 1000);
}

/** Whether another attempt is allowed after `attemptsMade` attempts. */
export function hasRetriesLeft(policy: RetryPolicy, attemptsMade: number): boolean {
  return attemptsMade < 1 + policy.max_retries;
}
