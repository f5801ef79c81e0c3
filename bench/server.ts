/**
 * What the benchmarks share: a built `berth server` started as a child process on a free port,
 * and CPU time read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface BenchServerOptions {
  /** The admin key the server creates on its first start. */
  key: string;
  env?: Record<string, string>;
  /** Flags for the server's `node` (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  logLevel?: 'info' | 'warn';
}

/** Starts `bin/berth.js server --port 0` on `dataDir` and resolves once it says where it listens. */
export async function startBenchServer(dataDir: string, options: BenchServerOptions): Promise<BenchServer> {
  fs.mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(ROOT, 'bin/berth.js'), 'server', '--port', '0', '--data-dir', dataDir], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      BERTH_ADMIN_API_KEY: options.key,
      BERTH_LOG_LEVEL: options.logLevel ?? 'warn',
      BERTH_LOG_FORMAT: 'json',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const take = (d: Buffer) => {
      out += d.toString();
      const m = /Berth is listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Two CPU-time fields of /proc/<pid>/stat (counted after the command name), in ms; 0 for a process that is gone. */
function statTimes(pid: number, userField: number, systemField: number): { user: number; system: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(fields[userField]) / CLOCK_TICKS) * 1000, system: (Number(fields[systemField]) / CLOCK_TICKS) * 1000 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** User and system CPU time of a process so far, in ms (utime, stime). */
export function processCpu(pid: number): { user: number; system: number } {
  return statTimes(pid, 11, 12);
}

/**
 * CPU time of the process's children that have exited and been waited for (cutime, cstime),
 * which includes their own waited-for children.
 */
export function reapedChildrenCpu(pid: number): { user: number; system: number } {
  return statTimes(pid, 13, 14);
}

export function processCpuMs(pid: number): number {
  const { user, system } = processCpu(pid);
  return user + system;
}
