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
import { AwsEcsRunEnvironmentSpec, LocalRunEnvironmentSpec } from '../../domain/run-environment.js';
import { EmailMethod, NotificationProfileSpecObject, NotificationRule, PagerDutyMethod, SlackMethod, WebhookMethod } from '../../domain/notification-profile.js';
import { TaskSpecObject } from '../../domain/task.js';
import { buildOpenApiDocument } from './openapi.js';
import { ALL_ROUTES } from './routes/index.js';
import { workflowYamlSection } from './workflow-docs.js';

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

function fieldRows(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const type = describeType(prop);
    const fallback = 'default' in prop ? `\`${JSON.stringify(prop.default)}\`` : required.has(name) ? '**required**' : '—';
    // A default the schema cannot state (computed, or "none") stays in the text.
    const described = String(prop.description ?? '');
    const text = ('default' in prop ? described.replace(/\s*\(Default: [^)]*\)/, '') : described).replace(/\|/g, '\\|');
    return `| \`${name}\` | ${type} | ${fallback} | ${text} |`;
  });
}

function describeType(prop: Record<string, unknown>): string {
  if (Array.isArray(prop.anyOf)) return (prop.anyOf as Record<string, unknown>[]).map(describeType).join(' or ');
  if (Array.isArray(prop.oneOf)) return (prop.oneOf as Record<string, unknown>[]).map(describeType).join(' or ');
  if (prop.const !== undefined) return `\`${JSON.stringify(prop.const)}\``;
  if (Array.isArray(prop.enum)) return (prop.enum as unknown[]).map((v) => `\`${String(v)}\``).join(', ');
  if (prop.type === 'array') return `list of ${describeType((prop.items ?? {}) as Record<string, unknown>)}`;
  if (prop.type === 'object') return 'map';
  return String(prop.type ?? 'any');
}

export function berthYamlMarkdown(): string {
  return [
    '# `berth.yaml` reference',
    '',
    '<!-- Generated from the schemas in src/domain by `npm run generate`; do not edit. -->',
    '',
    'One YAML document with lists `run_environments`, `tasks` and `workflows`; every item has a `name`',
    '(unique per kind). The field names are the API\'s: a Task in `berth.yaml` is the body of',
    '`POST /api/v1/tasks/`. Unknown fields are errors. `berth apply -f berth.yaml` validates the',
    'whole file, then writes all of it in one transaction (or nothing); `--dry-run` shows the',
    'changes. Editors that read JSON Schema can validate the file with',
    '[`schemas/berth.schema.json`](../schemas/berth.schema.json), e.g. with the first line',
    '`# yaml-language-server: $schema=<path to>/schemas/berth.schema.json`. A `task_definition_file`',
    'is read relative to the berth.yaml\'s directory (to the working directory with `-f -`).',
    '',
    '## Top level',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    '| `version` | `1` | `1` | Format version. |',
    '| `run_environments` | list | `[]` | Run Environments (below). |',
    '| `tasks` | list | `[]` | Tasks (below). |',
    '| `workflows` | list | `[]` | Workflows (below). |',
    '| `notification_profiles` | list | `[]` | Notification Profiles (below); applied first, so the others may name them. |',
    '',
    '## Run Environment, `kind: local`',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...fieldRows(LocalRunEnvironmentSpec),
    '',
    '## Run Environment, `kind: aws-ecs`',
    '',
    'Tasks run as ECS tasks on Fargate in your AWS account. Every field is checked for shape before any',
    'AWS call (subnet and security group ids, role ARNs, secret ARNs).',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...fieldRows(AwsEcsRunEnvironmentSpec),
    '',
    '## Task',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...fieldRows(TaskSpecObject),
    '',
    'Fields marked (aws-ecs) apply to Tasks of aws-ecs Run Environments only; a local Task that sets them',
    'is refused. An aws-ecs Task needs an `image` or a `task_definition`; its `cpu` and `memory` (default',
    '256 and 512, or the task definition\'s) must be a valid Fargate combination.',
    '',
    'Secret references: `ENV:NAME` (a variable of the `berth server` process), `FILE:/absolute/path`',
    '(the file\'s contents, one trailing newline removed), or an AWS Secrets Manager / SSM parameter',
    'ARN (for `aws-ecs` Run Environments). Values are read when an attempt starts, handed to the',
    'process as environment variables, and never stored, logged or returned by the API.',
    '',
    ...workflowYamlSection(),
    '',
    '## Notification Profile',
    '',
    'Who is told about which events, and how ([notifications.md](notifications.md)). Delivery secrets are',
    'references (`ENV:NAME`, `FILE:/absolute/path`, Secrets Manager / SSM parameter ARNs) or `{value: "…"}`,',
    'stored encrypted; the API never returns them.',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...fieldRows(NotificationProfileSpecObject),
    '',
    '### Rule',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...fieldRows(NotificationRule),
    '',
    ...(
      [
        ['webhook', WebhookMethod],
        ['slack', SlackMethod],
        ['email', EmailMethod],
        ['pagerduty', PagerDutyMethod],
      ] as const
    ).flatMap(([type, schema]) => [`### Method, \`type: ${type}\``, '', '| field | type | default | meaning |', '| --- | --- | --- | --- |', ...fieldRows(schema), '']),
  ].join('\n');
}

/** Repository-relative path → content. */
export function generatedFiles(): Record<string, string> {
  return {
    'docs/api/openapi.json': openApiJson(),
    'schemas/berth.schema.json': berthConfigSchemaJson(),
    'docs/errors.md': errorsMarkdown(),
    'docs/execution-states.md': executionStatesMarkdown(),
    'docs/berth-yaml.md': berthYamlMarkdown(),
  };
}
