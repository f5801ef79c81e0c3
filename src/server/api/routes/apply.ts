import { z } from 'zod';
import { defineRoute } from '../route.js';

const Change = z.object({
  kind: z.enum(['run_environment', 'task', 'workflow']),
  name: z.string(),
  action: z.enum(['create', 'update', 'unchanged']),
  fields: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
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
      200: { description: 'What changed (or would).', schema: z.object({ dry_run: z.boolean(), changes: z.array(Change) }) },
    },
    handler: async ({ body, services }) => ({
      status: 200,
      body: { dry_run: body.dry_run, changes: await services.catalog.apply(body.document, body.dry_run) },
    }),
  }),
];
