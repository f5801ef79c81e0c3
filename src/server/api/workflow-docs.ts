/**
 * The Workflow part of the generated `docs/berth-yaml.md`, built from the schemas in
 * `src/domain/workflow.ts` (generated-docs.ts puts it after the Task section).
 */
import { z } from 'zod';
import { EXPRESSION_FIELDS } from '../../domain/workflow-expression.js';
import { FAILURE_BEHAVIORS, SIMPLE_RULES, THRESHOLD_FIELDS, THRESHOLD_OPERATORS, TaskInstanceSpec, WorkflowSpecObject } from '../../domain/workflow.js';

function rows(schema: z.ZodType, skip: readonly string[] = []): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {})
    .filter(([name]) => !skip.includes(name))
    .map(([name, prop]) => {
      const type = describeType(prop);
      const fallback = 'default' in prop ? `\`${JSON.stringify(prop.default)}\`` : required.has(name) ? '**required**' : '—';
      const described = String(prop.description ?? '');
      const text = ('default' in prop ? described.replace(/\s*\(Default: [^)]*\)/, '') : described).replace(/\|/g, '\\|');
      return `| \`${name}\` | ${type} | ${fallback} | ${text} |`;
    });
}

function describeType(prop: Record<string, unknown>): string {
  const union = (prop.anyOf ?? prop.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(union)) return [...new Set(union.map(describeType))].join(' or ');
  if (Array.isArray(prop.enum)) return 'string';
  if (prop.type === 'array') return 'list';
  if (prop.type === 'object') return 'map';
  return String(prop.type ?? 'any');
}

export function workflowYamlSection(): string[] {
  return [
    '## Workflow',
    '',
    'Tasks chained by transitions; [workflows.md](workflows.md) explains how they run. A Workflow may name',
    'Tasks defined in the same file. `berth apply` refuses a cycle (naming it), a transition to an instance',
    'that does not exist, a `count_at_least` that can never be met and an expression that does not parse.',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows(WorkflowSpecObject),
    '',
    '### Task instance (`task_instances[]`)',
    '',
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows(TaskInstanceSpec),
    '',
    `\`start_condition\`: \`all\`, \`any\`, \`{count_at_least: N}\` or \`{ratio_at_least: R}\` (0 < R ≤ 1). \`failure_behavior\`: ${FAILURE_BEHAVIORS.map((b) => `\`${b}\``).join(', ')}.`,
    '',
    '### Transition (`transitions[]`)',
    '',
    'Every transition has `from` and `to` (instance names), `on` (the rule) and an optional `description`; some rules take one more field.',
    '',
    '| `on` | more fields | fires when the execution of `from` finished and |',
    '| --- | --- | --- |',
    `| ${SIMPLE_RULES.map((r) => `\`${r}\``).join(', ')} | — | success: it succeeded (or was marked done); failure: it did not (failed, timed out, stopped, abandoned, aborted); timeout: it was ended after its timeout; always: any end. |`,
    '| `exit_code` | `exit_codes`: list of integers | its exit code is in the list. |',
    `| \`threshold\` | \`threshold\`: \`{field, operator, value}\` | \`field\` (${THRESHOLD_FIELDS.map((f) => `\`${f}\``).join(', ')}) compared with \`operator\` (${THRESHOLD_OPERATORS.map((o) => `\`${o}\``).join(' ')}) to \`value\` holds; a missing number never fires. |`,
    `| \`expression\` | \`expression\`: string | the expression is true. Fields: ${Object.keys(EXPRESSION_FIELDS).map((f) => `\`${f}\``).join(', ')}. |`,
    '',
  ];
}
