import path from 'node:path';
import type { Command } from 'commander';
import { BerthError } from '../../domain/errors.js';
import type { ServerConfig } from '../../server/config.js';
import type { BerthServer } from '../../server/server.js';
import { fileIssues, fromTaskDefinitionFile, prepareBerthYaml, readBerthYaml, summary } from '../berth-yaml.js';
import type { ApplyChange } from '../berth-yaml.js';
import { withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { CliError } from '../errors.js';
import { Output } from '../output.js';
import { baseDirectoryOf } from '../task-definition-file.js';

interface ServerFlags extends CommonFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  localOnly?: boolean;
  localExecutor?: boolean;
  logLevel?: string;
  logFormat?: string;
  apply?: string;
}

/** A database URL with its password hidden. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

function databaseText(config: ServerConfig): string {
  return config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `SQLite ${path.join(config.dataDir, 'berth.sqlite')}`;
}

function printBanner(out: Output, server: BerthServer): void {
  const config = server.config;
  const key = server.generatedAdminKey;
  if (out.json) {
    out.line(
      JSON.stringify({
        url: server.url,
        data_dir: config.dataDir,
        database: config.databaseUrl ? 'postgres' : 'sqlite',
        local_only: config.localOnly,
        executors: [...server.ctx.executors.keys()],
        admin_api_key: key,
      }),
    );
    return;
  }
  out.line(out.paint('bold', `Berth is listening on ${server.url}`));
  out.line(`  Dashboard:      ${server.url}/`);
  out.line(`  Database:       ${databaseText(config)}`);
  out.line(`  Data directory: ${config.dataDir}`);
  out.line(`  Executors:      ${[...server.ctx.executors.keys()].join(', ') || 'none (local executor off)'}`);
  if (server.adoptedAtStart > 0) out.line(`  Re-attached ${server.adoptedAtStart} execution(s) left running by the previous server.`);
  if (config.localOnly) out.line('  Local-only mode: requests from this machine need no API key.');
  if (key) {
    out.line('');
    out.line(out.paint('yellow', `Admin API key (shown once; store it now): ${key}`));
    out.line(`  export BERTH_API_KEY=${key}`);
    if (server.url !== 'http://127.0.0.1:7878') out.line(`  export BERTH_URL=${server.url}`);
  }
  out.line('');
  out.line('Press Ctrl-C to stop. Running tasks keep running and are re-attached at the next start.');
}

async function applyFile(server: BerthServer, file: string, out: Output): Promise<void> {
  let sources = new Map<number, string>();
  try {
    const prepared = prepareBerthYaml(file, readBerthYaml(file), baseDirectoryOf(file));
    sources = prepared.sources;
    const document = prepared.document;
    const changes = (await server.services.catalog.apply(document, false)) as ApplyChange[];
    const line = `Applied ${file}: ${summary({ dry_run: false, changes })}`;
    if (out.json) out.note(line);
    else out.line(line);
  } catch (error) {
    if (error instanceof BerthError && error.code === 'CONFIG_INVALID') {
      const issues = Array.isArray(error.details?.issues) ? (error.details.issues as { path: string; message: string }[]) : [];
      throw new CliError(`${file} is invalid; nothing was applied`, {
        code: error.code,
        issues: fileIssues(file, issues.map((i) => fromTaskDefinitionFile(i, sources))),
      });
    }
    if (error instanceof BerthError) throw new CliError(`cannot apply ${file}: ${error.message}`, { code: error.code });
    throw error;
  }
}

export function registerServer(program: Command): void {
  const command = program
    .command('server')
    .summary('start the Berth server (API, launcher and monitor)')
    .description(
      'Start the Berth server: the HTTP API, the launcher and the monitor. Settings come from these ' +
        'flags, else BERTH_* environment variables, else defaults. On the very first start it creates ' +
        'an admin API key and prints it once.',
    )
    .option('--host <host>', 'interface to listen on; 0.0.0.0 accepts remote connections (env BERTH_HOST, default 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 picks a free one (env BERTH_PORT, default 7878)')
    .option('--data-dir <dir>', 'SQLite file, execution logs and the server lock (env BERTH_DATA_DIR, default ~/.local/share/berth)')
    .option('--database-url <url>', 'use PostgreSQL: postgres://… (env BERTH_DATABASE_URL)')
    .option('--local-only', 'requests from this machine need no API key; loopback hosts only (env BERTH_LOCAL_ONLY)')
    .option('--no-local-executor', 'do not run local child processes on this host (env BERTH_LOCAL_EXECUTOR=off)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (env BERTH_LOG_LEVEL, default info)')
    .option('--log-format <format>', 'json or pretty (env BERTH_LOG_FORMAT, default: pretty on a terminal, else json)')
    .option('--apply <file>', 'after starting, apply this berth.yaml file');
  withCommonOptions(command, { url: false });
  command.addHelpText(
    'after',
    `
The banner goes to stdout, logs to stderr. Ctrl-C (or SIGTERM) stops the server; running tasks
keep running and are re-attached at the next start. With --json the banner is one JSON line.

Examples:
  $ berth server
  $ berth server --local-only --apply berth.yaml
  $ berth server --host 0.0.0.0 --port 8080 --database-url postgres://berth@db/berth
  $ BERTH_DATA_DIR=/var/lib/berth berth server --log-format json`,
  );
  command.action(async (flags: ServerFlags, cmd: Command) => {
    const out = new Output(flags.json === true);
    const { loadServerConfig } = await import('../../server/config.js');
    let config: ServerConfig;
    try {
      config = loadServerConfig(
        {
          host: flags.host,
          port: flags.port,
          dataDir: flags.dataDir,
          databaseUrl: flags.databaseUrl,
          localOnly: flags.localOnly ? true : undefined,
          localExecutor: cmd.getOptionValueSource('localExecutor') === 'cli' ? flags.localExecutor : undefined,
          logLevel: flags.logLevel,
          logFormat: flags.logFormat,
        },
        process.env,
      );
    } catch (error) {
      throw new CliError((error as Error).message, { exitCode: 2 });
    }
    const { BerthServer } = await import('../../server/server.js');
    let server: BerthServer;
    try {
      server = await BerthServer.start(config);
    } catch (error) {
      throw new CliError(`the server did not start: ${(error as Error).message}`, { cause: error });
    }
    printBanner(out, server);
    if (flags.apply) {
      try {
        await applyFile(server, flags.apply, out);
      } catch (error) {
        await server.close();
        throw error;
      }
    }
    await new Promise<never>(() => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          out.note(`${signal} again: exiting without waiting.`);
          process.exit(1);
        }
        stopping = true;
        out.note(`${signal}: stopping Berth. Running tasks keep running and are re-attached at the next start.`);
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            out.note(`error: while stopping: ${(error as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
  });
}
