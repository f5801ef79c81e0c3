#!/usr/bin/env node
// `npm start`: the quick start. Builds Berth and its web dashboard if needed, then runs `berth
// server` in local-only mode (no API key needed from this machine) with the example tasks
// applied; the server prints the dashboard's URL. Settings can be
// changed with BERTH_* variables, e.g. BERTH_PORT=9000 npm start.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  console.error(`Berth needs Node.js 20.10 or newer; this is ${process.version}.`);
  process.exit(1);
}

/** @param {string} dir @param {string[]} [skip] names not to descend into @returns {number} */
function newestMtime(dir, skip = []) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

const built = path.join(root, 'dist/cli/main.js');
// tsc rewrites only the outputs whose sources changed, so compare the newest of each side.
if (!fs.existsSync(built) || newestMtime(path.join(root, 'dist'), ['web']) < newestMtime(path.join(root, 'src'))) {
  console.log('Building Berth…');
  const build = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The web dashboard (served by the server at /): built into dist/web when missing or older than web/.
const webIndex = path.join(root, 'dist/web/index.html');
if (!fs.existsSync(webIndex) || fs.statSync(webIndex).mtimeMs < newestMtime(path.join(root, 'web'))) {
  console.log('Building the web dashboard…');
  const build = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
    { cwd: root, stdio: 'inherit' },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const env = {
  ...process.env,
  BERTH_DATA_DIR: process.env.BERTH_DATA_DIR ?? path.join(root, '.berth-data'),
  BERTH_LOCAL_ONLY: process.env.BERTH_LOCAL_ONLY ?? 'true',
};
const child = spawn(process.execPath, [path.join(root, 'bin/berth.js'), 'server', '--apply', path.join(root, 'examples/berth.yaml')], {
  cwd: root,
  env,
  stdio: 'inherit',
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
