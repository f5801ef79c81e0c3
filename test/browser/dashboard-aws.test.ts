/**
 * The dashboard's aws-ecs views in Chromium against a real `berth server` whose aws-ecs Run
 * Environment points at moto: an execution's ECS task with its link to the AWS console, and a
 * Run Environment's `verify` result with the button that runs it again.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { awsTestConfig, motoAvailable, startEcsAccount } from '../support/moto.js';
import type { Moto } from '../support/moto.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { chromiumAvailable, ensureWebBuild, launchChromium, screenshot } from './browser.js';

describe.runIf(chromiumAvailable() && (await motoAvailable()))('the web dashboard with an aws-ecs Run Environment (moto)', () => {
  let moto: Moto;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureWebBuild();
    // The ECS task stays RUNNING until the test ends it.
    const account = await startEcsAccount();
    moto = account.moto;
    const { net, ecs } = account;
    const iam = new IAMClient(awsTestConfig(moto.endpoint));
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'berth-task-execution', AssumeRolePolicyDocument: trust }));
    ecs.destroy();
    iam.destroy();
    t = await startTestServer();
    const env = await t.request('POST', '/api/v1/run_environments/', {
      name: 'prod',
      kind: 'aws-ecs',
      description: 'Fargate in the data account.',
      region: 'us-east-1',
      cluster: 'berth',
      subnets: net.subnets.slice(0, 1),
      security_groups: net.securityGroups.slice(0, 1),
      execution_role_arn: role.Role!.Arn!,
      endpoint_url: moto.endpoint,
      tags: { team: 'data' },
      environment: { STAGE: 'prod' },
      secrets: { DB_PASSWORD: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:etl-db-AbCdEf' },
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    const task = await t.request('POST', '/api/v1/tasks/', { name: 'nightly-etl', run_environment: 'prod', image: 'public.ecr.aws/docker/library/busybox:1.36', command: ['sleep', '600'], cpu: 256, memory: 512 });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: t.server.url });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto('/');
    await page.getByLabel('API key').fill(TEST_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await moto?.stop();
  });

  it('shows the ECS task of an execution with a link to it in the AWS console', async () => {
    const started = await t.request('POST', '/api/v1/task_executions/', { task: 'nightly-etl' });
    expect(started.status).toBe(201);
    const running = await waitFor(async () => {
      const e = (await t.request('GET', `/api/v1/task_executions/${started.body.uuid}/`)).body;
      return e.status === 'RUNNING' ? e : null;
    }, 'the ECS task to run', 60_000, 200);
    const arn = running.executor.details.task_arn as string;
    expect(arn).toMatch(/^arn:aws:ecs:us-east-1:\d+:task\/berth\//);
    await page.goto(`/executions/${started.body.uuid}`);
    const link = page.getByRole('link', { name: new RegExp(arn.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&')) });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(`https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/berth/tasks/${arn.split('/').pop()}/configuration`);
    expect(await link.getAttribute('rel')).toContain('noopener');
    await screenshot(page, 'execution-aws-ecs');
    await t.request('PATCH', `/api/v1/task_executions/${started.body.uuid}/`, { status: 'STOPPING' });
  });

  it("shows a Run Environment's settings without secrets, its verify result, and runs verify again", async () => {
    await page.goto('/run-environments/prod');
    const checks = page.locator('.checks li');
    await checks.first().waitFor();
    expect(await page.locator('[data-check="cluster"] [data-status]').getAttribute('data-status')).toBe('pass');
    expect(await page.locator('[data-check="execution role"] [data-status]').getAttribute('data-status')).toBe('pass');
    const settings = await page.locator('.fields').textContent();
    expect(settings).toContain('DB_PASSWORD (references not shown)');
    expect(settings).not.toContain('secretsmanager');
    expect(settings).toContain('us-east-1');
    const count = await checks.count();
    expect(count).toBeGreaterThanOrEqual(5);
    await screenshot(page, 'run-environment-aws-ecs');

    // The button runs every check again, against the account as it is now.
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/run_environments/prod/verify') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Verify again' }).click();
    expect((await answered).status()).toBe(200);
    await page.getByRole('button', { name: 'Verify again' }).waitFor();
    expect(await checks.count()).toBe(count);
  });
});
