import { describe, expect, it } from 'vitest';
import { backoffMs, classifyAwsError, TokenBucket, withRetry } from './aws-calls.js';

function awsError(name: string, message = '', status?: number) {
  return Object.assign(new Error(message), { name, $metadata: status === undefined ? {} : { httpStatusCode: status }, $fault: 'client' });
}

describe('classifyAwsError', () => {
  it('sorts AWS errors by what to do about them', () => {
    expect(classifyAwsError(awsError('ThrottlingException', 'Rate exceeded', 400))).toBe('throttled');
    expect(classifyAwsError(awsError('InvalidParameterException', 'Rate exceeded', 400))).toBe('throttled');
    expect(classifyAwsError(awsError('ClientException', 'Too many concurrent attempts to create a new revision of the specified family.', 400))).toBe('throttled');
    expect(classifyAwsError(awsError('ServerException', 'oops', 500))).toBe('transient');
    expect(classifyAwsError(awsError('Whatever', 'bad gateway', 503))).toBe('transient');
    expect(classifyAwsError(awsError('AccessDeniedException', 'User is not authorized to perform: ecs:RunTask', 400))).toBe('denied');
    expect(classifyAwsError(awsError('InvalidParameterException', 'subnet does not exist', 400))).toBe('client');
    expect(classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('unknown-outcome');
  });
});

describe('retries', () => {
  it('backs off exponentially with jitter, within the bound', () => {
    const options = { attempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(options, 1, () => 0)).toBe(50);
    expect(backoffMs(options, 1, () => 1)).toBe(100);
    expect(backoffMs(options, 3, () => 1)).toBe(400);
    expect(backoffMs(options, 10, () => 1)).toBe(1000);
  });

  it('retries throttling until success, and gives up on a client error at once', async () => {
    let calls = 0;
    const waits: number[] = [];
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw awsError('ThrottlingException', 'slow down', 400);
        return 'ok';
      },
      { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 },
      async (ms) => void waits.push(ms),
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
    let clientCalls = 0;
    await expect(
      withRetry(async () => {
        clientCalls++;
        throw awsError('InvalidParameterException', 'no', 400);
      }),
    ).rejects.toThrow('no');
    expect(clientCalls).toBe(1);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the steady rate', async () => {
    let now = 0;
    const waited: number[] = [];
    const bucket = new TokenBucket(3, 2, () => now, async (ms) => {
      waited.push(ms);
      now += ms;
    });
    for (let i = 0; i < 3; i++) await bucket.take();
    expect(waited).toEqual([]);
    await bucket.take();
    await bucket.take();
    expect(waited).toEqual([500, 500]);
    expect(now).toBe(1000);
  });
});
