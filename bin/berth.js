#!/usr/bin/env node
// The `berth` command: runs the compiled CLI in dist/ (built by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);

if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('berth is not built yet: run npm run build (npm ci does it)\n');
  process.exitCode = 1;
} else {
  const { main } = await import(entry.href);
  process.exitCode = await main(process.argv);
}
