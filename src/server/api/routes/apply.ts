import { z } from 'zod';
import { BerthConfig } from '../../../domain/berth-config.js';
import { defineRoute } from '../route.js';

const Change = z.object({
  kind: z.enum(['run_environment', 'task', 'workflow', 'notification_profile']),
  name: z.string(),
  action: z.enum(['create', 'update', 'unchanged']),
  fields: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
});

const ServiceApply = z.object({
  task: z.string(),
  action: z.enum(['deploy', 'plan', 'skip']).describe('deploy: deployed now (follow it with GET /api/v1/services/{task}); plan: what a deploy would do; skip: unchanged and deployed already.'),
  steps: z.array(z.object({ resource: z.string(), name: z.string(), action: z.enum(['create', 'update', 'unchanged', 'delete']), detail: z.string() })),
  task_definition_arn: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable().describe('Why this Service could not be deployed (the rest of the document was applied).'),
});

export const applyRoutes = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/apply',
    operationId: 'applyConfiguration',
    summary: 'Apply a berth.yaml document (as JSON): all of it in one transaction, or nothing.',
    description:
      'Validates the whole document first; an invalid one answers 400 CONFIG_INVALID with the path of every bad field and writes nothing. With dry_run the changes are computed and nothing is written. Objects not in the document are left alone.',
    tag: 'apply',
    scope: 'developer',
    body: z.strictObject({
      document: z.record(z.string(), z.unknown()).describe('The berth.yaml document.'),
      dry_run: z.boolean().default(false),
    }),
    errors: ['CONFIG_INVALID'],
    responses: {
      200: {
        description: 'What changed (or would).',
        schema: z.object({ dry_run: z.boolean(), changes: z.array(Change), services: z.array(ServiceApply).describe('Services of the document: deployed (or planned, with dry_run) after the rest was applied.') }),
      },
    },
    handler: async ({ body, services }) => {
      const changes = await services.catalog.apply(body.document, body.dry_run);
      // Services are deployed after the transaction committed: AWS calls never hold it open.
      const deployed = await services.services.afterApply(BerthConfig.parse(body.document), changes, body.dry_run);
      return { status: 200, body: { dry_run: body.dry_run, changes, services: deployed } };
    },
  }),
];
