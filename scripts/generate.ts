/**
 * Writes the generated documents (`npm run generate`), or with `--check` fails when a committed
 * one differs from what the code generates (`npm run check:generated`, part of `npm test`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../src/server/api/generated-docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [relative, content] of Object.entries(generatedFiles())) {
  const file = path.join(root, relative);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (current === content) continue;
  if (check) stale.push(relative);
  else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    console.log(`wrote ${relative}`);
  }
}
if (stale.length) {
  console.error(`Generated files are out of date: ${stale.join(', ')}\nRun \`npm run generate\` and commit the result.`);
  process.exit(1);
}
if (check) console.log('generated files are up to date');
