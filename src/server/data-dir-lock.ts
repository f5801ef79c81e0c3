import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from './instance-registry.js';

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/**
 * One server per SQLite data directory: a lock file holding the owner's pid and host. A lock left
 * by a process that no longer exists on this host is taken over; a live owner is an error that
 * names it.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const file = path.join(dataDir, 'server.lock');
  const content = JSON.stringify({ pid: process.pid, hostname: os.hostname(), started_at: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
      return {
        file,
        release: () => {
          try {
            const held = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number };
            if (held.pid === process.pid) fs.unlinkSync(file);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; hostname?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof holder;
      } catch {
        // Unreadable or half-written: treat as stale.
      }
      const sameHost = holder.hostname === undefined || holder.hostname === os.hostname();
      if (holder.pid !== undefined && holder.pid !== process.pid && (!sameHost || pidAlive(holder.pid))) {
        throw new Error(
          `Another Berth server (pid ${holder.pid}${sameHost ? '' : ` on ${holder.hostname}`}) is using the data directory ${dataDir}. ` +
            'Stop it, or start this one with another --data-dir (or use PostgreSQL to run several servers).',
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${file}; remove it if no Berth server is running.`);
}
