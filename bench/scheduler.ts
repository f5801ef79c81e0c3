/**
 * The scheduler under load for `npm run bench`: three built `berth server` processes on one
 * PostgreSQL database, 50 Tasks on `rate(1 second)`, for a real-clock period (60 s by default).
 * Records each fire's lateness (from its fire time to the decision that created its execution,
 * both from the deciding server's clock), p50/p99, how many fires were coalesced (a pass more than
 * a period late covers several fire times with one execution), the servers' shares, the servers'
 * CPU per fire, and checks that every fire produced exactly one execution.
 *
 * No process is launched: each Task has `max_concurrency: 1` and one reported RUNNING execution
 * holding that slot, so its scheduled executions stay QUEUED (this measures the scheduler, not the
 * local executor).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { LocalRunEnvironmentSpec } from '../src/domain/run-environment.js';
import { TaskSpec } from '../src/domain/task.js';
import { processCpuMs, startBenchServer, type BenchServer } from './server.js';
import { openStore } from '../src/store/open-store.js';

const KEY = 'berth_bench_scheduler_key_0123456789';

export interface SchedulerResult {
  servers: number;
  tasks: number;
  seconds: number;
  fires: number;
  /** Fire times covered by the fires (more than `fires` when some were coalesced). */
  fireTimes: number;
  coalesced: number;
  duplicates: number;
  /** Started fires without exactly one execution, or executions without a fire. */
  mismatched: number;
  p50: number;
  p99: number;
  max: number;
  shares: number[];
  cpuMsPerFire: number;
}


const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : Number.NaN);

/** Runs the measurement; null when PostgreSQL is not reachable at `databaseUrl`. */
export async function benchScheduler(databaseUrl: string, seconds = 60, servers = 3, tasks = 50): Promise<SchedulerResult | null> {
  const schema = `berth_bench_sched_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-sched-'));
  const procs: BenchServer[] = [];
  try {
    const env = { BERTH_DATABASE_URL: databaseUrl, BERTH_DATABASE_SCHEMA: schema, BERTH_SCHEDULER_INTERVAL_MS: '1000' };
    procs.push(...(await Promise.all(Array.from({ length: servers }, (_, i) => startBenchServer(path.join(dir, `s${i}`), { key: KEY, env, logLevel: 'info' })))));
    const store = await openStore({ dataDir: dir, databaseUrl, databaseSchema: schema });
    try {
      const envRecord = (await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), Date.now())).record;
      const specs = Array.from({ length: tasks }, (_, i) =>
        TaskSpec.parse({ name: `tick-${i}`, run_environment: 'local', command: 'true', max_concurrency: 1, schedule: 'rate(1 second)', schedule_overlap: 'queue' }),
      );
      for (const spec of specs) {
        const task = (await store.upsertTask({ ...spec, enabled: false }, envRecord.uuid, Date.now())).record;
        await store.createExecution({
          uuid: randomUUID(),
          task_uuid: task.uuid,
          run_environment_uuid: envRecord.uuid,
          status: 'RUNNING',
          run_reason: 'REPORTED',
          max_attempts: 1,
          environment_overrides: {},
          input_value: null,
          created_at: Date.now(),
          started_at: Date.now(),
          owner_instance: null,
          executor_kind: null,
          attempt: 1,
        });
      }
      const cpuBefore = procs.reduce((n, p) => n + processCpuMs(p.child.pid!), 0);
      const enabledAt = Date.now();
      await store.transaction(async (tx) => {
        for (const spec of specs) await tx.upsertTask(spec, envRecord.uuid, enabledAt);
      });
      await new Promise((r) => setTimeout(r, seconds * 1000));
      await store.transaction(async (tx) => {
        for (const spec of specs) await tx.upsertTask({ ...spec, enabled: false }, envRecord.uuid, Date.now());
      });
      await new Promise((r) => setTimeout(r, 1500));
      const cpuAfter = procs.reduce((n, p) => n + processCpuMs(p.child.pid!), 0);

      const fires = await store.listScheduleFires({ limit: 1_000_000 });
      const executions = (await store.listExecutions({ limit: 1_000_000, offset: 0 })).items.filter((e) => e.run_reason === 'SCHEDULED_START');
      const keys = new Set(fires.map((f) => `${f.target_uuid}@${f.fire_at}`));
      const byExecution = new Map<string, number>();
      for (const f of fires) if (f.execution_uuid) byExecution.set(f.execution_uuid, (byExecution.get(f.execution_uuid) ?? 0) + 1);
      const executionUuids = new Set(executions.map((e) => e.uuid));
      let mismatched = fires.filter((f) => f.outcome === 'started' && (!f.execution_uuid || !executionUuids.has(f.execution_uuid) || byExecution.get(f.execution_uuid) !== 1)).length;
      mismatched += executions.filter((e) => !byExecution.has(e.uuid)).length;
      const lateness = fires.map((f) => f.created_at - f.fire_at).sort((a, b) => a - b);
      return {
        servers,
        tasks,
        seconds,
        fires: fires.length,
        fireTimes: fires.reduce((n, f) => n + f.covered, 0),
        coalesced: fires.filter((f) => f.covered > 1).length,
        duplicates: fires.length - keys.size,
        mismatched,
        p50: percentile(lateness, 0.5),
        p99: percentile(lateness, 0.99),
        max: lateness[lateness.length - 1] ?? Number.NaN,
        shares: [...new Set(fires.map((f) => f.decided_by))].map((id) => fires.filter((f) => f.decided_by === id).length).sort((a, b) => b - a),
        cpuMsPerFire: (cpuAfter - cpuBefore) / Math.max(1, fires.length),
      };
    } finally {
      await store.close();
    }
  } finally {
    for (const p of procs) await p.stop().catch(() => undefined);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function schedulerSection(r: SchedulerResult | null): string {
  if (!r) return '## Scheduler: fire lateness\n\nNot measured (--skip-scheduler, or no PostgreSQL reachable).';
  return `## Scheduler: fire lateness

${r.servers} built \`berth server\` processes on one PostgreSQL database, ${r.tasks} Tasks on
\`rate(1 second)\` for ${r.seconds} s (source: \`bench/scheduler.ts\`). Lateness is the time from a
fire time to the scheduler's decision that created its execution (in the same transaction), from
the deciding server's clock. Nothing is launched: each Task's one concurrency slot is held by a
reported run, so the scheduled executions stay queued and only the scheduler is measured.

| measure | result | goal |
| --- | --- | --- |
| fires (executions created) | ${r.fires} for ${r.fireTimes} fire times | |
| fires coalesced (a pass over a period late) | ${r.coalesced} | |
| duplicate fires / fires without exactly one execution | ${r.duplicates} / ${r.mismatched} | 0 / 0 |
| fires decided by each server | ${r.shares.join(' / ')} | |
| lateness p50 | ${fmt(r.p50)} ms | |
| lateness p99 | **${fmt(r.p99)} ms** | under 1,000 ms |
| lateness max | ${fmt(r.max)} ms | |
| servers' CPU per fire (all ${r.servers}, user + system) | ${fmt(r.cpuMsPerFire, 2)} ms | |`;
}

export function schedulerGoals(r: SchedulerResult | null): string {
  if (!r) return '';
  return `
- Scheduler fire lateness p99 (${r.servers} servers, ${r.tasks} × rate(1 second)): ${fmt(r.p99)} ms against a goal of under 1,000 ms — **${r.p99 < 1000 ? 'met' : 'not met'}**; exactly one execution per fire — **${r.duplicates === 0 && r.mismatched === 0 ? 'met' : 'not met'}**.`;
}
