import { describe, expect, it } from 'vitest';
import { ruleNameFor, toEventBridgeExpression } from './eventbridge-schedule.js';
import { AwsEcsRunEnvironmentSpec } from './run-environment.js';

const ok = (text: string) => {
  const r = toEventBridgeExpression(text);
  if (!r.ok) throw new Error(`expected ${text} to convert: ${r.error}`);
  return r.expression;
};
const error = (text: string) => {
  const r = toEventBridgeExpression(text);
  if (r.ok) throw new Error(`expected ${text} to be refused, got ${r.expression}`);
  return r.error;
};

describe('toEventBridgeExpression', () => {
  it('converts 5-field cron that EventBridge can express', () => {
    expect(ok('0 3 * * *')).toBe('cron(0 3 * * ? *)');
    expect(ok('30 2 * * MON-FRI')).toBe('cron(30 2 ? * MON-FRI *)');
    expect(ok('30 2 * * 1,3,5')).toBe('cron(30 2 ? * MON,WED,FRI *)');
    expect(ok('0 0 * * 0')).toBe('cron(0 0 ? * SUN *)');
    expect(ok('0 0 * * 7')).toBe('cron(0 0 ? * SUN *)');
    expect(ok('*/15 * * * *')).toBe('cron(0,15,30,45 * * * ? *)');
    expect(ok('0 12 1,15 JAN-MAR *')).toBe('cron(0 12 1,15 1-3 ? *)');
    expect(ok('@daily')).toBe('cron(0 0 * * ? *)');
    expect(ok('@weekly')).toBe('cron(0 0 ? * SUN *)');
    expect(ok('TZ=UTC 5 4 * * *')).toBe('cron(5 4 * * ? *)');
  });

  it('passes AWS cron and rate through, normalised', () => {
    expect(ok('cron(0 12 ? * MON#1 *)')).toBe('cron(0 12 ? * MON#1 *)');
    expect(ok('cron(0  3 L * ? 2030-2040)')).toBe('cron(0 3 L * ? 2030-2040)');
    expect(ok('rate(5 minutes)')).toBe('rate(5 minutes)');
    expect(ok('rate(1 hour)')).toBe('rate(1 hour)');
    expect(ok('rate(120 minutes)')).toBe('rate(2 hours)');
    expect(ok('rate(2 days)')).toBe('rate(2 days)');
  });

  it('refuses what a UTC-only, minute-resolution rule cannot run, saying what to write', () => {
    expect(error('TZ=Europe/Paris 0 3 * * *')).toMatch(/UTC only; remove TZ=Europe\/Paris/);
    expect(error('rate(30 seconds)')).toMatch(/at most once a minute.*rate\(1 minute\)/);
    expect(error('rate(90 seconds)')).toMatch(/whole minutes/);
    expect(error('0 3 1 * MON')).toMatch(/either matches.*Restrict only one/);
    // Seconds are not a cron field Berth or EventBridge take.
    expect(error('0 0 3 * * *')).toMatch(/5 fields|field/);
    expect(error('nonsense')).toBeTruthy();
  });
});

describe('ruleNameFor', () => {
  it('is prefix + name, shortened with a hash past 64 characters', () => {
    expect(ruleNameFor('berth-', 'nightly')).toBe('berth-nightly');
    const a = ruleNameFor('berth-', 'x'.repeat(80));
    const b = ruleNameFor('berth-', `${'x'.repeat(79)}y`);
    expect(a).toHaveLength(64);
    expect(a.startsWith('berth-xxx')).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('aws-ecs Run Environment schedules setting', () => {
  const base = {
    name: 'prod',
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: 'berth',
    subnets: ['subnet-0123456789abcdef0'],
    security_groups: ['sg-0123456789abcdef0'],
    execution_role_arn: 'arn:aws:iam::123456789012:role/exec',
  };
  const messages = (input: unknown) => {
    const r = AwsEcsRunEnvironmentSpec.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults to berth and accepts a complete eventbridge setting', () => {
    expect(messages(base)).toEqual([]);
    expect(
      messages({
        ...base,
        schedules: 'eventbridge',
        eventbridge_role_arn: 'arn:aws:iam::123456789012:role/berth-events',
        api_url: 'https://berth.example.com',
        api_key_secret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:berth-key-AbCdEf',
        schedule_rule_prefix: 'acme-',
      }),
    ).toEqual([]);
  });

  it('says what eventbridge needs', () => {
    const m = messages({ ...base, schedules: 'eventbridge' });
    expect(m).toContainEqual(expect.stringMatching(/^eventbridge_role_arn: schedules: eventbridge needs eventbridge_role_arn/));
    expect(m).toContainEqual(expect.stringMatching(/^api_url: .*api_url and api_key_secret/));
    expect(messages({ ...base, eventbridge_role_arn: 'arn:aws:iam::123456789012:role/x' })).toEqual([
      'eventbridge_role_arn: eventbridge_role_arn only applies with schedules: eventbridge',
    ]);
    expect(messages({ ...base, schedules: 'cron' })[0]).toMatch(/^schedules:/);
  });
});
