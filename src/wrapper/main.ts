/**
 * berth-wrap's entry point: `berth-wrap [options] -- COMMAND [ARGS…]`. Parses the options once,
 * runs the command under the wrapper, and exits with the code `exit-codes.ts` documents.
 * Bundled into dist/berth-wrap.mjs by scripts/build-wrapper.mjs.
 */
import os from 'node:os';
import { EXIT } from './exit-codes.js';
import { parseWrapConfig } from './options.js';
import { createWrapLog } from './wrap-log.js';
import { WRAPPER_VERSION } from './version.js';
import { runWrapper } from './wrapper.js';

async function main(): Promise<number> {
  const parsed = parseWrapConfig(process.argv.slice(2), process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(parsed.text + '\n');
      return EXIT.SUCCESS;
    case 'version':
      process.stdout.write(`berth-wrap ${WRAPPER_VERSION}\n`);
      return EXIT.SUCCESS;
    case 'error':
      process.stderr.write(`berth-wrap: configuration error: ${parsed.message}\n`);
      return EXIT.CONFIG_ERROR;
    case 'config':
      return runWrapper(parsed.config, { env: process.env, log: createWrapLog(parsed.config.logLevel), hostname: () => os.hostname() });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`berth-wrap: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.INTERNAL_ERROR);
  },
);
