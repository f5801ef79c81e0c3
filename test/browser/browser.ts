/**
 * Support for the dashboard's browser tests: a fresh dashboard build when the sources changed,
 * Debian's Chromium driven by playwright-core, and screenshots.
 *
 * Chromium: /usr/bin/chromium (or BERTH_TEST_CHROMIUM). Without it the suites skip locally and
 * fail in CI (`CI=true`), where `.ci/run` installs it first.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.BERTH_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const WEB_DIR = path.join(ROOT, 'dist/web');

/** Whether the browser suites can run; in CI a missing Chromium is an error, not a skip. */
export function chromiumAvailable(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`Chromium is required in CI for the dashboard tests and ${CHROMIUM} does not exist. .ci/run installs it (apt-get install -y chromium).`);
  }
  return false;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  const index = path.join(WEB_DIR, 'index.html');
  return fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestMtime(path.join(ROOT, 'web'));
}

/**
 * Builds the dashboard into dist/web unless the build is newer than every source file. Test files
 * run in parallel: a lock directory makes one of them build while the others wait for it.
 */
export function ensureWebBuild(): void {
  if (isFresh()) return;
  const lock = path.join(ROOT, 'dist', '.web-build.lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another test file is building (a lock older than the deadline was left by a killed run).
      if (fs.existsSync(lock) && Date.now() - fs.statSync(lock).mtimeMs > 180_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 3 minutes for ${lock}; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (isFresh()) return;
    const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`npm run build:web failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * Where screenshots go: docs/screenshots (committed, shown in the README) with
 * BERTH_UPDATE_SCREENSHOTS=1, else a temporary directory, so test runs leave the tree clean.
 * They are taken either way.
 */
export const SCREENSHOT_DIR =
  process.env.BERTH_UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/screenshots') : fs.mkdtempSync(path.join(os.tmpdir(), 'berth-screenshots-'));

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  const size = fs.statSync(file).size;
  if (size < 2000) throw new Error(`screenshot ${file} is suspiciously small (${size} bytes)`);
  return file;
}
