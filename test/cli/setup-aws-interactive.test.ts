/**
 * `berth setup aws` at a terminal: a pseudo-terminal (test/fixtures/pty_driver.py, Python's pty
 * module) types the answers, including invalid ones that must be explained and asked again,
 * accepts defaults with Enter, confirms the plan, and Ctrl-C stops the wizard cleanly.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PTY_DRIVER, startSetupHarness } from '../fixtures/setup-aws-harness.js';
import type { Harness } from '../fixtures/setup-aws-harness.js';
import { motoAvailable } from '../support/moto.js';
import { REPO_ROOT } from './cli.js';

const run = promisify(execFile);

interface Step {
  expect: string;
  send?: string;
  enter?: boolean;
}

interface Driven {
  exit: number | null;
  transcript: string;
  error: string | null;
}

describe.runIf(await motoAvailable())('berth setup aws at a terminal (pty, against moto)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startSetupHarness();
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  /** Runs the wizard in a pseudo-terminal and plays `steps`; returns the exit code and what it printed. */
  async function drive(steps: Step[], args: string[] = []): Promise<Driven> {
    const script = path.join(h.home, `script-${Date.now()}.json`);
    fs.writeFileSync(script, JSON.stringify({ timeout: 20, steps }));
    const main = path.join(REPO_ROOT, 'src', 'cli', 'main.ts');
    const { stdout } = await run(
      process.env.BERTH_TEST_PYTHON ?? 'python3',
      [PTY_DRIVER, script, '--', process.execPath, '--import', 'tsx', main, 'setup', 'aws', '--endpoint-url', h.moto.endpoint, ...args],
      { cwd: REPO_ROOT, env: h.processEnv({ TERM: 'xterm', NO_COLOR: '1' }), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as Driven;
  }

  const re = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('asks every question, re-asks invalid answers with a message, and sets everything up', { timeout: 180_000 }, async () => {
    const driven = await drive([
      { expect: re('Run Environment name [aws]: '), send: 'term' },
      { expect: re('AWS region [us-east-1]: '), send: 'moon-1' },
      { expect: re('"moon-1" is not an AWS region code; regions look like us-east-1 or eu-west-2') },
      { expect: re('AWS region [us-east-1]: '), send: 'us-east-1' },
      { expect: re('AWS profile (Enter: the default credential chain): '), send: '' },
      { expect: 'AWS account 123456789012, region us-east-1' },
      { expect: re('1) create a new cluster (stack berth-term-cluster)') },
      { expect: re('ECS cluster [create]: '), send: '7' },
      { expect: re('there is no choice 7') },
      { expect: re('ECS cluster [create]: '), send: '1' },
      { expect: re('Name of the new cluster [berth-term]: '), send: '' },
      { expect: re('1) create a new VPC (stack berth-term-network)') },
      { expect: re('Network [create]: '), send: 'create' },
      { expect: re('6) us-east-1f') },
      { expect: re('Availability zones (2 or 3; numbers or names, comma-separated) [us-east-1a,us-east-1b]: '), send: '1,9' },
      { expect: re('there is no choice 9: answer with numbers from 1 to 6, or zone names') },
      { expect: re('[us-east-1a,us-east-1b]: '), send: 'us-east-1a' },
      { expect: re('choose 2 or 3 different zones (you chose 1)') },
      { expect: re('[us-east-1a,us-east-1b]: '), send: '2, 3' },
      { expect: re('NAT gateways: None, Single or PerZone [Single]: '), send: 'several' },
      { expect: re('"several" is not None, Single or PerZone') },
      { expect: re('[Single]: '), send: 'perzone' },
      { expect: re('(billed per zone and hour)? yes/no [no]: '), send: '' },
      { expect: re('Who may assume the control role (account id or role ARN) [123456789012]: '), send: '*' },
      { expect: re('"*" is never allowed') },
      { expect: re('[123456789012]: '), send: 'arn:aws:iam::123456789012:role/berth-server' },
      { expect: re('Plan for Run Environment "term"') },
      { expect: re('AvailabilityZone1: us-east-1b') },
      { expect: re('NatGateways: PerZone') },
      { expect: re('Create and update these now? [Y/n]: '), send: 'maybe' },
      { expect: re('answer y or n') },
      { expect: re('[Y/n]: '), send: 'y' },
      { expect: re('Run Environment "term" is set up.') },
    ]);
    expect(driven.error, driven.transcript).toBeNull();
    expect(driven.exit, driven.transcript).toBe(0);

    const env = (await h.t.request('GET', '/api/v1/run_environments/term')).body;
    const network = await h.stackOutputs('berth-term-network');
    expect(env).toMatchObject({
      kind: 'aws-ecs',
      cluster: 'berth-term',
      subnets: network.PrivateSubnetIds!.split(','),
      security_groups: [network.TaskSecurityGroupId],
      role_arn: 'arn:aws:iam::123456789012:role/berth-term-control',
    });
    expect(network.AvailabilityZones).toBe('us-east-1b,us-east-1c');
    expect((await h.stackParameters('berth-term-network')).NatGateways).toBe('PerZone');
    const control = await h.stackParameters('berth-term-control-role');
    expect(control.TrustedPrincipal).toBe('arn:aws:iam::123456789012:role/berth-server');
    expect(control.ExternalId).toBe(env.external_id);
    const state = fs.readFileSync(path.join(h.home, 'berth', 'setup-aws-term.json'), 'utf8');
    expect(state).not.toContain(env.external_id);
    expect(JSON.parse(state).answers).toMatchObject({ availability_zones: 'us-east-1b,us-east-1c', nat_gateways: 'PerZone', cluster_name: 'berth-term' });
  });

  it('run again at the terminal: the earlier answers are the defaults, Enter keeps them, nothing to do', async () => {
    const before = await h.snapshot();
    const driven = await drive([
      { expect: re('Run Environment name [aws]: '), send: 'term' },
      { expect: 'The answers of the earlier setup .* are the defaults' },
      { expect: re('AWS region [us-east-1]: '), send: '' },
      { expect: re('AWS profile (Enter: the default credential chain): '), send: '' },
      { expect: re('ECS cluster [create]: '), send: '' },
      { expect: re('Name of the new cluster [berth-term]: '), send: '' },
      { expect: re('Network [create]: '), send: '' },
      { expect: re('[us-east-1b,us-east-1c]: '), send: '' },
      { expect: re('[PerZone]: '), send: '' },
      { expect: re('[false]: '), send: '' },
      { expect: re('[arn:aws:iam::123456789012:role/berth-server]: '), send: '' },
      { expect: 'Nothing to do' },
    ]);
    expect(driven.error, driven.transcript).toBeNull();
    expect(driven.exit, driven.transcript).toBe(0);
    expect(driven.transcript).not.toMatch(/Create and update these now/);
    expect(await h.snapshot()).toEqual(before);
  });

  it('Ctrl-C at a prompt stops the wizard (exit 130) before anything is created', async () => {
    const before = await h.snapshot();
    const driven = await drive([
      { expect: re('Run Environment name [aws]: '), send: 'stopped' },
      { expect: re('AWS profile (Enter: the default credential chain): '), send: '' },
      { expect: re('ECS cluster [create]: '), send: '\u0003', enter: false },
      { expect: 'interrupted; nothing more was done' },
    ], ['--region', 'us-east-1']);
    expect(driven.error, driven.transcript).toBeNull();
    expect(driven.exit, driven.transcript).toBe(130);
    expect(await h.snapshot()).toEqual(before);
    expect(fs.existsSync(path.join(h.home, 'berth', 'setup-aws-stopped.json'))).toBe(false);
    expect((await h.t.request('GET', '/api/v1/run_environments/stopped')).status).toBe(404);
  });
});
