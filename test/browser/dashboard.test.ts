/**
 * The web dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * `berth server` with the local executor: sign-in, starting and stopping Tasks, a failed
 * execution's details and logs, a Workflow's graph changing state, read-only views for reporter
 * keys, and local-only mode. Each page is also captured as a screenshot (see browser.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { chromiumAvailable, ensureWebBuild, launchChromium, screenshot } from './browser.js';

const WIDE = { width: 1280, height: 860 };
const NARROW = { width: 390, height: 844 };

describe.skipIf(!chromiumAvailable())('the web dashboard', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function newPage(viewport = WIDE): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: t.server.url, reducedMotion: 'reduce' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    return page;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto('/');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  async function api(method: string, path: string, body?: unknown) {
    const res = await t.request(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const rowStatus = (page: Page, task: string) => page.locator(`tr[data-task="${task}"] .last-execution [data-status]`);

  beforeAll(async () => {
    ensureWebBuild();
    t = await startTestServer({ livenessIntervalMs: 200 });
    browser = await launchChromium();
    await api('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local', description: 'Child processes on the Berth host.', environment: { GREETING: 'hello' } });
    const task = (name: string, command: string, extra: Record<string, unknown> = {}) =>
      api('POST', '/api/v1/tasks/', { name, run_environment: 'local', command, ...extra });
    await task('hello', 'echo "$GREETING from Berth"', { description: 'Prints a greeting and succeeds.', schedule: '0 3 * * *' });
    await task('fails', 'echo "loading rows"; echo "something went wrong" >&2; exit 3', { description: 'Complains on stderr and exits with code 3.' });
    await task('long', 'for i in $(seq 1 300); do echo "tick $i"; sleep 1; done', { description: 'Counts for five minutes.', termination_grace_period_seconds: 2 });
    await task('slow-step', 'echo "step starts"; sleep 2; echo "step done"', { description: 'Takes two seconds.' });
    await task('silent', 'sleep 30', { description: 'Expects heartbeats it never sends.', heartbeat_interval_seconds: 1, max_heartbeat_lateness_seconds: 0 });
    await api('POST', '/api/v1/workflows/', { name: 'breaks', task_instances: [{ name: 'step', task: 'fails' }] });
    await api('POST', '/api/v1/workflows/', { name: 'slow', task_instances: [{ name: 'counting', task: 'long' }] });
    await api('POST', '/api/v1/workflows/', {
      name: 'chain',
      description: 'slow-step, then hello; if hello fails, fails runs.',
      task_instances: [{ name: 'first', task: 'slow-step' }, { name: 'then', task: 'slow-step' }, { name: 'on-failure', task: 'fails' }],
      transitions: [
        { from: 'first', to: 'then', on: 'success' },
        { from: 'then', to: 'on-failure', on: 'failure' },
      ],
    });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    // Stop what is still running so the server closes cleanly.
    const running = await t?.request('GET', '/api/v1/task_executions/?status=IN_PROGRESS&limit=100');
    for (const e of running?.body?.results ?? []) await t.request('PATCH', `/api/v1/task_executions/${e.uuid}/`, { status: 'STOPPING' });
    if (running?.body?.results?.length) {
      await waitFor(async () => (await t.request('GET', '/api/v1/task_executions/?status=IN_PROGRESS')).body.count === 0, 'executions stopped', 30_000, 100);
    }
    await t?.stop();
  });

  it('refuses an invalid key with a clear message, and keeps the sign-in form', async () => {
    const page = await newPage();
    await page.goto('/');
    await page.getByLabel('API key').waitFor();
    await screenshot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').first().textContent()).resolves.toContain('Paste an API key');
    await page.getByLabel('API key').fill('berth_00000000_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.locator('.error-box');
    await alert.waitFor();
    const text = await alert.textContent();
    expect(text).toContain('This key was not accepted');
    expect(text).toContain('UNAUTHENTICATED');
    expect(text).toContain('Unknown API key.');
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    expect(await page.evaluate("sessionStorage.getItem('berth.apiKey')")).toBeNull();
    await screenshot(page, 'sign-in-invalid-key');
  });

  it('signs in, starts a Task from the Tasks page and shows its row reaching SUCCEEDED without a reload', async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    // Kept for this tab only: in sessionStorage, never in localStorage or a cookie.
    expect(await page.evaluate("sessionStorage.getItem('berth.apiKey')")).toBe(TEST_ADMIN_KEY);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    await nav(page, 'Tasks').click();
    await page.locator('tr[data-task="hello"]').waitFor();
    expect(await page.locator('tr[data-task="hello"]').textContent()).toContain('never ran');
    await page.evaluate('window.marker = 42');

    await page.getByRole('button', { name: 'Start hello' }).click();
    await rowStatus(page, 'hello').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
    expect(await page.evaluate('window.marker')).toBe(42);
    expect(await page.locator('tr[data-task="hello"] td.num').textContent()).toBe('100%');
    const executions = await api('GET', '/api/v1/task_executions/?task=hello');
    expect(executions.count).toBe(1);
    expect(executions.results[0].status).toBe('SUCCEEDED');
    expect(executions.results[0].run_reason).toBe('EXPLICIT_START');
  });

  it('searches and filters the Tasks table on the server, with the filters in the address', async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/tasks');
    await page.locator('tr[data-task="hello"]').waitFor();
    await page.getByRole('searchbox').fill('LO');
    await page.waitForURL(/\?search=LO$/);
    await page.locator('tr[data-task="fails"]').waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-task]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')))).toEqual(['hello', 'long', 'slow-step']);
    await page.getByLabel('State').selectOption('false');
    await page.getByText('No Task matches these filters.').waitFor();
    // Back in history restores the previous filter, and the search box follows the address.
    await page.goBack();
    await page.locator('tr[data-task="long"]').waitFor();
    expect(await page.locator('tr[data-task="fails"]').count()).toBe(0);
    await nav(page, 'Tasks').click();
    await page.locator('tr[data-task="fails"]').waitFor();
    expect(await page.getByRole('searchbox').inputValue()).toBe('');
  });

  it('stops a long-running Task from its row', async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/tasks');
    await page.getByRole('button', { name: 'Start long' }).click();
    await rowStatus(page, 'long').and(page.locator('[data-status="RUNNING"]')).waitFor();
    await screenshot(page, 'tasks');
    await page.getByRole('button', { name: 'Stop long' }).click();
    await rowStatus(page, 'long').and(page.locator('[data-status="STOPPED"]')).waitFor({ timeout: 30_000 });
    const [execution] = (await api('GET', '/api/v1/task_executions/?task=long')).results;
    expect(execution.status).toBe('STOPPED');
    expect(execution.stop_reason).toBe('MANUAL');
    expect(await page.getByRole('button', { name: 'Stop long' }).count()).toBe(0);
  });

  it("shows a failed execution's exit code, reason and log lines", async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/tasks');
    await page.getByRole('button', { name: 'Start fails' }).click();
    await rowStatus(page, 'fails').and(page.locator('[data-status="FAILED"]')).waitFor();
    await page.getByRole('link', { name: 'Last execution of fails: FAILED' }).click();
    await page.locator('.exit-code').waitFor();
    expect(await page.locator('.exit-code').textContent()).toBe('3');
    expect(await page.locator('.failure-message').textContent()).toContain('exited with code 3');
    const logs = page.locator('.log-lines');
    await logs.getByText('something went wrong').waitFor();
    await logs.getByText('loading rows').waitFor();
    expect(await logs.locator('.stderr').allTextContents()).toContain('something went wrong\n');
    await page.getByText(/lines, complete/).waitFor();
    await screenshot(page, 'execution-failed');
  });

  it('follows a running execution and its logs live, and starts a Task with environment overrides', async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/tasks/hello');
    await page.getByRole('button', { name: 'Start…' }).click();
    await page.getByLabel('Environment overrides (optional)').fill('not a variable');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    expect(await page.locator('.field-error').textContent()).toContain('Line 1: write KEY=value');
    await page.getByLabel('Environment overrides (optional)').fill('GREETING=bonjour');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);
    await page.locator('.log-lines').getByText('bonjour from Berth').waitFor();
    const uuid = page.url().split('/').pop()!;
    expect((await api('GET', `/api/v1/task_executions/${uuid}/`)).environment_overrides).toEqual({ GREETING: 'bonjour' });

    // A long one: lines appear while it runs, without reloading.
    const long = await api('POST', '/api/v1/task_executions/', { task: 'long' });
    await page.goto(`/executions/${long.uuid}`);
    await page.locator('.log-lines').getByText('tick 1', { exact: true }).waitFor();
    await page.locator('.log-lines').getByText('tick 3', { exact: true }).waitFor();
    expect(await page.locator('.live').textContent()).toContain('live');
    await screenshot(page, 'execution-running');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('h1 [data-status="STOPPED"]').waitFor({ timeout: 30_000 });
  });

  it("draws a Workflow and shows its nodes change state as it runs", async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/workflows');
    await page.getByRole('link', { name: 'chain' }).click();
    await page.locator('[data-node="first"][data-state="NOT_STARTED"]').waitFor();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.waitForURL(/\/workflow-executions\/[0-9a-f-]{36}$/);
    // Record every state each node shows, as the page updates itself.
    await page.evaluate(`(() => {
      const seen = (window.seen = {});
      const record = () => {
        for (const node of document.querySelectorAll('[data-node]')) {
          const list = (seen[node.getAttribute('data-node')] ??= []);
          const state = node.getAttribute('data-state');
          if (list[list.length - 1] !== state) list.push(state);
        }
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    await page.locator('[data-node="first"][data-state="RUNNING"]').waitFor();
    await screenshot(page, 'workflow-running');
    await page.locator('h1 [data-status="SUCCEEDED"]').waitFor({ timeout: 30_000 });
    const seen = (await page.evaluate('window.seen')) as Record<string, string[]>;
    expect(seen.first).toEqual(expect.arrayContaining(['RUNNING', 'SUCCEEDED']));
    expect(seen.first!.indexOf('RUNNING')).toBeLessThan(seen.first!.indexOf('SUCCEEDED'));
    expect(seen.then).toEqual(expect.arrayContaining(['WAITING', 'RUNNING', 'SUCCEEDED']));
    expect(seen.then!.indexOf('WAITING')).toBeLessThan(seen.then!.indexOf('RUNNING'));
    expect(await page.locator('[data-node="on-failure"]').getAttribute('data-state')).toBe('SKIPPED');
    expect(await page.locator('[data-edge="first->then"]').getAttribute('data-state')).toBe('FIRED');
    await screenshot(page, 'workflow-execution');
  });

  it('stops a running Workflow Execution and retries a failed one from its failure', async () => {
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/workflows/slow');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.waitForURL(/\/workflow-executions\/[0-9a-f-]{36}$/);
    await page.locator('[data-node="counting"][data-state="RUNNING"]').waitFor();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('h1 [data-status="STOPPED"]').waitFor({ timeout: 30_000 });
    const stopped = await api('GET', `/api/v1/workflow_executions/${page.url().split('/').pop()}/`);
    expect(stopped.status).toBe('STOPPED');

    const failed = await api('POST', '/api/v1/workflow_executions/', { workflow: 'breaks' });
    await waitFor(async () => (await api('GET', `/api/v1/workflow_executions/${failed.uuid}/`)).status === 'FAILED', 'breaks to fail', 30_000, 100);
    await page.goto(`/workflow-executions/${failed.uuid}`);
    await page.locator('[data-node="step"][data-state="FAILED"]').waitFor();
    expect(await page.locator('.failure').textContent()).toContain('step');
    await page.getByRole('button', { name: 'Retry from failure' }).click();
    await waitFor(async () => (await api('GET', `/api/v1/workflow_executions/${failed.uuid}/`)).attempt === 2, 'a second attempt', 30_000, 100);
    await page.locator('h1 [data-status="FAILED"]').waitFor({ timeout: 30_000 });
    await page.getByText('Attempt').first().waitFor();
    expect(await page.locator('.fields').first().textContent()).toContain('Attempt2');
    const retried = await api('GET', `/api/v1/workflow_executions/${failed.uuid}/`);
    expect(retried.nodes[0].runs).toHaveLength(2);
  });

  it('gives a reporter key read-only views: no Start or Stop buttons', async () => {
    const { key } = await api('POST', '/api/v1/api_keys/', { name: 'dashboard-reader', scope: 'reporter' });
    const running = await api('POST', '/api/v1/task_executions/', { task: 'long' });
    await waitFor(async () => (await api('GET', `/api/v1/task_executions/${running.uuid}/`)).status === 'RUNNING', 'long running');
    const page = await newPage();
    await signIn(page, key);
    expect(await page.locator('.scope').textContent()).toContain('read-only');
    await page.goto('/tasks');
    await rowStatus(page, 'long').and(page.locator('[data-status="RUNNING"]')).waitFor();
    expect(await page.locator('tr[data-task]').count()).toBeGreaterThanOrEqual(5);
    expect(await page.getByRole('button', { name: /^(Start|Stop)/ }).count()).toBe(0);
    await page.goto(`/executions/${running.uuid}`);
    await page.locator('.log-lines').getByText('tick 1', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: /^(Start|Stop)/ }).count()).toBe(0);
    await page.goto('/tasks/hello');
    await page.getByRole('heading', { name: 'Configuration' }).waitFor();
    expect(await page.getByRole('button', { name: /^Start/ }).count()).toBe(0);
    await page.goto('/workflows/chain');
    await page.locator('[data-node="first"]').first().waitFor();
    expect(await page.getByRole('button', { name: /^(Start|Stop|Retry)/ }).count()).toBe(0);
    // Signing out forgets the key: the tab is back at the sign-in form, with no error shown.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('berth.apiKey')")).toBeNull();
    expect(await page.locator('.error-box').count()).toBe(0);
    await api('PATCH', `/api/v1/task_executions/${running.uuid}/`, { status: 'STOPPING' });
  });

  it('shows the Overview, Executions, Run Environments and Events pages, and a narrow window', async () => {
    // An execution that stops sending heartbeats becomes ABANDONED and records an event.
    const silent = await api('POST', '/api/v1/task_executions/', { task: 'silent' });
    await waitFor(async () => (await api('GET', `/api/v1/task_executions/${silent.uuid}/`)).status === 'ABANDONED', 'silent abandoned', 30_000, 100);
    const page = await newPage();
    await signIn(page, TEST_ADMIN_KEY);
    await page.goto('/');
    await page.locator('.counts').waitFor();
    expect(await page.locator('.counts').textContent()).toMatch(/SUCCEEDED/);
    await page.locator('.failures').getByText('silent').first().waitFor();
    expect(await page.locator('.failures').textContent()).toContain('exited with code 3');
    await page.getByRole('heading', { name: 'Next scheduled runs' }).waitFor();
    expect(await page.locator('section', { has: page.getByRole('heading', { name: 'Next scheduled runs' }) }).textContent()).toContain('hello');
    await screenshot(page, 'overview');

    await nav(page, 'Executions').click();
    await page.locator('tr[data-execution]').first().waitFor();
    await screenshot(page, 'executions');

    await nav(page, 'Tasks').click();
    await page.getByRole('link', { name: 'hello', exact: true }).click();
    await page.getByRole('heading', { name: 'Duration and status over time' }).waitFor();
    await page.locator('.chart rect.bar').first().waitFor();
    await screenshot(page, 'task');

    await nav(page, 'Workflows').click();
    await page.locator('tr[data-workflow="chain"]').waitFor();
    await screenshot(page, 'workflows');

    await nav(page, 'Run Environments').click();
    await page.getByRole('link', { name: 'local', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    // A local Run Environment has nothing to verify: the API's own message is shown as it is.
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('.error-box').waitFor();
    expect(await page.locator('.error-box').textContent()).toContain('UNSUPPORTED_FOR_KIND');
    await screenshot(page, 'run-environment');

    await nav(page, 'Events').click();
    await page.locator('.events').getByText('MISSING_HEARTBEAT').first().waitFor();
    await screenshot(page, 'events');

    // Keyboard: the skip link is the first stop, and the main navigation follows.
    await page.goto('/');
    await page.locator('.counts').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');

    const narrow = await newPage(NARROW);
    await signIn(narrow, TEST_ADMIN_KEY);
    await narrow.goto('/tasks');
    await narrow.locator('tr[data-task="hello"]').waitFor();
    const overflow = await narrow.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(narrow, 'tasks-narrow');
  });
});

describe.skipIf(!chromiumAvailable())('the web dashboard in local-only mode', () => {
  it('opens without signing in', async () => {
    ensureWebBuild();
    const t = await startTestServer({ localOnly: true });
    const browser = await launchChromium();
    try {
      await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' });
      await t.request('POST', '/api/v1/tasks/', { name: 'hello', run_environment: 'local', command: 'echo hi' });
      const page = await browser.newPage({ viewport: WIDE, baseURL: t.server.url });
      await page.goto('/tasks');
      await page.locator('tr[data-task="hello"]').waitFor();
      expect(await page.locator('.scope').textContent()).toContain('local-only');
      expect(await page.getByLabel('API key').count()).toBe(0);
      await page.getByRole('button', { name: 'Start hello' }).click();
      await page.locator('tr[data-task="hello"] [data-status="SUCCEEDED"]').waitFor();
    } finally {
      await browser.close();
      await t.stop();
    }
  });
});
