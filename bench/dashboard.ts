/**
 * The web dashboard under load for `npm run bench`: 1,000 Tasks and 100,000 executions in the
 * SQLite store of a built `berth server`, then, in Chromium (playwright-core), the time from
 * navigation until the first page of a list is on screen:
 *
 * - the Tasks page (50 Tasks with their last execution, success rate and next fire: the
 *   `task_summaries` endpoint), also filtered by a search;
 * - the Executions page (the newest 50 of 100,000), and one Task's page (its newest executions).
 *
 * After one unmeasured warm-up load of each, each is loaded 15 times, every time in a fresh tab
 * (a new browser context: nothing cached); the table shows the median and the slowest. The Tasks are created through the store; the executions are
 * inserted with one prepared SQL statement in one transaction (100,000 API calls would measure
 * the API, not the dashboard).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { LocalRunEnvironmentSpec } from '../src/domain/run-environment.js';
import { TaskSpec } from '../src/domain/task.js';
import { ROOT, startBenchServer } from './server.js';
import { openStore, sqliteFileFor } from '../src/store/open-store.js';

const KEY = 'berth_bench_dashboard_key_0123456789';
const CHROMIUM = process.env.BERTH_TEST_CHROMIUM ?? '/usr/bin/chromium';
const LOADS = 15;

export interface DashboardTiming {
  page: string;
  what: string;
  median: number;
  max: number;
  first: number;
}

export interface DashboardResult {
  tasks: number;
  executions: number;
  seedSeconds: number;
  timings: DashboardTiming[];
  /** The machine's 1-minute load average before and after the measured loads (other work shares the cores). */
  load: [number, number];
}

const STATUSES = ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'STOPPED'] as const;

export async function seed(dataDir: string, tasks: number, executions: number): Promise<void> {
  const store = await openStore({ dataDir });
  const now = Date.now();
  const taskUuids: string[] = [];
  try {
    const { record: env } = await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), now);
    await store.transaction(async (tx) => {
      for (let i = 0; i < tasks; i++) {
        const name = `task-${String(i).padStart(4, '0')}`;
        const spec = TaskSpec.parse({
          name,
          run_environment: 'local',
          command: 'true',
          description: `Benchmark Task number ${i}.`,
          ...(i % 10 === 0 ? { schedule: `${i % 60} ${i % 24} * * *` } : {}),
        });
        taskUuids.push((await tx.upsertTask(spec, env.uuid, now)).record.uuid);
      }
    });
    const db = new Database(sqliteFileFor(dataDir));
    try {
      const insert = db.prepare(
        `INSERT INTO task_executions (uuid, task_uuid, run_environment_uuid, status, run_reason, created_at, updated_at, started_at, finished_at, attempt, max_attempts, attempts, exit_code, executor_kind)
         VALUES (?, ?, ?, ?, 'SCHEDULED_START', ?, ?, ?, ?, 1, 1, '[]', ?, 'local')`,
      );
      db.transaction(() => {
        // Spread over the last 30 days, every Task with the same number of executions.
        const span = 30 * 24 * 3600_000;
        for (let i = 0; i < executions; i++) {
          const created = now - span + Math.floor((i / executions) * span);
          const status = STATUSES[i % STATUSES.length]!;
          const exitCode = status === 'SUCCEEDED' ? 0 : status === 'FAILED' ? 1 : null;
          const started = created + 200;
          const finished = started + 1000 + (i % 97) * 100;
          insert.run(randomUUID(), taskUuids[i % tasks]!, env.uuid, status, created, finished, started, finished, exitCode);
        }
      })();
      db.pragma('optimize');
    } finally {
      db.close();
    }
  } finally {
    await store.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Loads `path` in a fresh tab `LOADS` times; each time, ms from navigation until `ready` is on screen. */
async function measure(newPage: () => Promise<Page>, url: string, ready: string, rows: number, loads = LOADS): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < loads; i++) {
    const page = await newPage();
    const start = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator(ready).nth(rows - 1).waitFor({ timeout: 30_000 });
    times.push(performance.now() - start);
    await page.context().close();
  }
  return times;
}

export async function benchDashboard(tasks = 1000, executions = 100_000): Promise<DashboardResult | null> {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`dashboard benchmark skipped: no Chromium at ${CHROMIUM}`);
    return null;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist/web/index.html'))) throw new Error('Build the dashboard first: npm run build (npm run bench does it).');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-dashboard-'));
  const seedStart = performance.now();
  await seed(dataDir, tasks, executions);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const server = await startBenchServer(dataDir, { key: KEY });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    const newPage = async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      await context.addInitScript(`sessionStorage.setItem('berth.apiKey', ${JSON.stringify(KEY)})`);
      return context.newPage();
    };
    const cases: { page: string; what: string; path: string; ready: string; rows: number }[] = [
      { page: 'Tasks', what: 'first 50 of 1,000 Tasks with last execution, success rate, next fire', path: '/tasks', ready: 'tr[data-task]', rows: 50 },
      { page: 'Tasks, searched', what: '"task-09": first 50 of 100 matches', path: '/tasks?search=task-09', ready: 'tr[data-task]', rows: 50 },
      { page: 'Executions', what: 'newest 50 of 100,000 executions', path: '/executions', ready: 'tr[data-execution]', rows: 50 },
      { page: 'Executions, failed', what: 'newest 50 of 10,000 FAILED', path: '/executions?status=FAILED', ready: 'tr[data-execution]', rows: 50 },
      { page: 'Task detail', what: "one Task's newest 25 of its 100 executions", path: '/tasks/task-0500', ready: '.executions-table tr[data-execution]', rows: 25 },
    ];
    // Warm-up (not measured): the server's first queries (page cache, JIT) and one load of the
    // app, as after any start; each measured load then runs in a fresh tab with an empty cache.
    for (const c of cases) await measure(newPage, `${server.url}${c.path}`, c.ready, c.rows, 1);
    const loadBefore = os.loadavg()[0]!;
    const timings: DashboardTiming[] = [];
    for (const c of cases) {
      const times = await measure(newPage, `${server.url}${c.path}`, c.ready, c.rows);
      timings.push({ page: c.page, what: c.what, first: times[0]!, median: median(times), max: Math.max(...times) });
    }
    return { tasks, executions, seedSeconds, timings, load: [loadBefore, os.loadavg()[0]!] };
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => n.toFixed(0);

export function dashboardSection(r: DashboardResult | null): string {
  if (!r) return '## Web dashboard: first page of a list\n\nNot measured: no Chromium here.';
  return `## Web dashboard: first page of a list

${r.tasks.toLocaleString('en-US')} Tasks and ${r.executions.toLocaleString('en-US')} executions (spread over 30 days, 100 per Task) in the SQLite
store of a built \`berth server\` (seeded in ${r.seedSeconds.toFixed(1)} s, outside the measurement). Chromium
(playwright-core, 1280 × 860) opens each page ${LOADS} times in a fresh tab, signed in; the time runs from
navigation until the last row of the list's first page is on screen: loading the app, asking
the API who the key is, and the list's own request(s). Each load is in a new browser context
(empty cache), after one unmeasured warm-up load of each page.

| page | what is on screen | median | slowest | first |
| --- | --- | --- | --- | --- |
${r.timings.map((t) => `| ${t.page} | ${t.what} | **${fmt(t.median)} ms** | ${fmt(t.max)} ms | ${fmt(t.first)} ms |`).join('\n')}

The machine's load average was ${r.load[0].toFixed(1)} before and ${r.load[1].toFixed(1)} after the measured loads (${os.cpus().length} cores; the
browser, the server and anything else running share them), which is what the slowest loads show.

Goal: the Tasks page and an execution list render their first page in under 1 second (median). The Tasks
page reads one page of Tasks and, in one statement, each one's newest 20 executions (an index
range with a LIMIT per Task on \`(task_uuid, created_at)\`), never a Task's whole history.`;
}

export function dashboardGoals(r: DashboardResult | null): string {
  if (!r) return '';
  const lists = r.timings.filter((t) => t.page === 'Tasks' || t.page === 'Executions');
  const median = Math.max(...lists.map((t) => t.median));
  const worst = Math.max(...lists.map((t) => t.max));
  return `\n- Dashboard first page (Tasks, Executions): median ${fmt(median)} ms (slowest of ${LOADS} loads ${fmt(worst)} ms) against a goal of under 1,000 ms — **${median < 1000 ? 'met' : 'not met'}**${worst < 1000 ? ', every load included' : ' for the median; not for every load on this shared machine'}.`;
}

// `node --import tsx bench/dashboard.ts` runs only this benchmark and prints its section.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchDashboard()
    .then((r) => console.log(`${dashboardSection(r)}\n${dashboardGoals(r)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
