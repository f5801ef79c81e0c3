/**
 * The generated artefacts committed to the repository, built from the code's own definitions:
 * the OpenAPI document, the berth.yaml JSON Schema, the error catalogue and the status table.
 * `npm run generate` writes them; `npm run check:generated` (part of `npm test`) fails on drift.
 */
import { z } from 'zod';
import { BerthConfig } from '../../domain/berth-config.js';
import { ERROR_CATALOGUE } from '../../domain/errors.js';
import {
  EXECUTION_STATUSES,
  RUN_REASONS,
  STATUS_DESCRIPTIONS,
  STOP_REASONS,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from '../../domain/execution-status.js';
import { buildOpenApiDocument } from './openapi.js';
import { ALL_ROUTES } from './routes/index.js';

export function openApiJson(): string {
  return JSON.stringify(buildOpenApiDocument(ALL_ROUTES), null, 2) + '\n';
}

export function berthConfigSchemaJson(): string {
  const schema = z.toJSONSchema(BerthConfig, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const withId = {
    $schema: schema.$schema,
    title: 'berth.yaml',
    ...schema,
  };
  return JSON.stringify(withId, null, 2) + '\n';
}

export function errorsMarkdown(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, def]) => `| \`${code}\` | ${def.status} | ${def.description.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# API error codes',
    '',
    '<!-- Generated from src/domain/errors.ts by `npm run generate`; do not edit. -->',
    '',
    'Every error the API returns has this shape, with one of the codes below:',
    '',
    '```json',
    '{"error": {"code": "TASK_NOT_FOUND", "message": "No Task named or with uuid \\"nightly\\". …", "details": {}}}',
    '```',
    '',
    'The codes are stable: match on `code`, show `message` to people. Validation errors carry',
    '`details.issues`, a list of `{path, message}` with paths like `tasks[1].timeout_seconds`.',
    '',
    '| code | HTTP status | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

export function executionStatesMarkdown(): string {
  const statusRows = EXECUTION_STATUSES.map(
    (s) =>
      `| \`${s}\` | ${TERMINAL_STATUSES.has(s) ? 'yes' : 'no'} | ${TRANSITIONS[s].map((t) => `\`${t}\``).join(', ') || '—'} | ${STATUS_DESCRIPTIONS[s]} |`,
  );
  return [
    '# Task Execution states',
    '',
    '<!-- Generated from src/domain/execution-status.ts by `npm run generate`; do not edit. -->',
    '',
    'Status names are CloudReactor\'s wire names, so `proc_wrapper` and dashboards built for it read',
    'them unchanged; `QUEUED` is Berth\'s addition. Every change of status is a compare-and-set',
    'on the stored status along this table, so two servers (or a monitor and an API call) cannot',
    'both move an execution.',
    '',
    '| status | terminal | may become | meaning |',
    '| --- | --- | --- | --- |',
    ...statusRows,
    '',
    '## Run reasons',
    '',
    ...RUN_REASONS.map((r) => `- \`${r}\``),
    '',
    '## Stop reasons',
    '',
    ...STOP_REASONS.map((r) => `- \`${r}\``),
    '',
  ].join('\n');
}

/** Repository-relative path → content. */
export function generatedFiles(): Record<string, string> {
  return {
    'docs/api/openapi.json': openApiJson(),
    'schemas/berth.schema.json': berthConfigSchemaJson(),
    'docs/errors.md': errorsMarkdown(),
    'docs/execution-states.md': executionStatesMarkdown(),
  };
}
