/**
 * berth-wrap's start-up overhead for `npm run bench`: wall time and peak memory of
 * `node dist/berth-wrap.mjs -- true` (offline: no Berth URL) next to a bare `node -e 0`, the median
 * of several runs of each, interleaved so that a busy moment hurts both alike.
 *
 * Peak memory is the maximum resident set size: from GNU time (`/usr/bin/time -f %M`) when it is
 * there, else by reading VmHWM from /proc while the process runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WRAPPER_BUNDLE = path.join(ROOT, 'dist', 'berth-wrap.mjs');
const TIME = '/usr/bin/time';

export interface StartupSample {
  wallMs: number;
  peakRssKiB: number;
}

export interface WrapperOverhead {
  runs: number;
  bare: { wallMs: number; peakRssMiB: number };
  wrapper: { wallMs: number; peakRssMiB: number };
  bundleKiB: number;
  memorySource: string;
}

function hasGnuTime(): boolean {
  if (!fs.existsSync(TIME)) return false;
  const probe = spawnSync(TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return probe.status === 0 && /^\d+\s*$/.test(probe.stderr.trim().split('\n').pop() ?? '');
}

/** One run of `node args…`: wall time from spawn to exit, and the peak RSS. */
function sample(args: readonly string[], gnuTime: boolean): Promise<StartupSample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = gnuTime
      ? spawn(TIME, ['-f', '%M', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let peak = 0;
    const poll = gnuTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) peak = Math.max(peak, Number(m[1]));
          } catch {
            // exited meanwhile
          }
        }, 1);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (poll) clearInterval(poll);
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`));
      if (gnuTime) peak = Number(stderr.trim().split('\n').pop());
      resolve({ wallMs, peakRssKiB: peak });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs both commands `runs` times each (after one unmeasured run of each) and takes medians. */
export async function benchWrapperOverhead(runs = 15): Promise<WrapperOverhead> {
  if (!fs.existsSync(WRAPPER_BUNDLE)) throw new Error('Build first: npm run build writes dist/berth-wrap.mjs.');
  const gnuTime = hasGnuTime();
  const bareArgs = ['-e', '0'];
  const wrapArgs = [WRAPPER_BUNDLE, '--', 'true'];
  await sample(bareArgs, gnuTime);
  await sample(wrapArgs, gnuTime);
  const bare: StartupSample[] = [];
  const wrapper: StartupSample[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await sample(bareArgs, gnuTime));
    wrapper.push(await sample(wrapArgs, gnuTime));
  }
  const summary = (samples: StartupSample[]) => ({
    wallMs: median(samples.map((s) => s.wallMs)),
    peakRssMiB: median(samples.map((s) => s.peakRssKiB)) / 1024,
  });
  return {
    runs,
    bare: summary(bare),
    wrapper: summary(wrapper),
    bundleKiB: fs.statSync(WRAPPER_BUNDLE).size / 1024,
    memorySource: gnuTime ? 'GNU time (`/usr/bin/time -f %M`)' : 'VmHWM in /proc, read every millisecond',
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** The section of docs/benchmarks.md. */
export function wrapperSection(r: WrapperOverhead | null): string {
  if (!r) return '## berth-wrap: start-up overhead\n\nNot measured (--skip-wrapper).';
  return `## berth-wrap: start-up overhead

\`node dist/berth-wrap.mjs -- true\` with no Berth URL (berth-wrap parses its options, spawns
\`true\` in its own process group, waits and exits with its code) next to a bare \`node -e 0\`:
the median of ${r.runs} runs of each, interleaved, after one unmeasured run of each. Wall time is
from spawn to exit as the parent sees it; peak memory is the maximum resident set size, from
${r.memorySource}. The bundle is ${fmt(r.bundleKiB, 0)} KiB, of which the AWS SDK and the yaml parser
are a compressed string decoded only by runs that resolve AWS secrets or read YAML. Node's own
start-up varies with the machine and its load; the difference ("own share") is berth-wrap's cost.

| measure | \`node -e 0\` | \`node dist/berth-wrap.mjs -- true\` | berth-wrap's own share | goal |
| --- | --- | --- | --- | --- |
| wall time (median) | ${fmt(r.bare.wallMs)} ms | **${fmt(r.wrapper.wallMs)} ms** | ${fmt(r.wrapper.wallMs - r.bare.wallMs)} ms | under 100 ms |
| peak RSS (median) | ${fmt(r.bare.peakRssMiB)} MiB | **${fmt(r.wrapper.peakRssMiB)} MiB** | ${fmt(r.wrapper.peakRssMiB - r.bare.peakRssMiB)} MiB | under 50 MiB |`;
}

/** The lines for the Goals section. */
export function wrapperGoals(r: WrapperOverhead | null): string {
  if (!r) return '';
  const met = (ok: boolean) => (ok ? 'met' : 'not met');
  return `
- berth-wrap start-up (\`-- true\`, offline): ${fmt(r.wrapper.wallMs)} ms against a goal of under 100 ms — **${met(r.wrapper.wallMs < 100)}**; peak RSS ${fmt(r.wrapper.peakRssMiB)} MiB against under 50 MiB — **${met(r.wrapper.peakRssMiB < 50)}**.`;
}
