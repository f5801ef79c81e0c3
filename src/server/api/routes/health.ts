import { z } from 'zod';
import { BerthError, coerceError } from '../../../domain/errors.js';
import { defineRoute } from '../route.js';

export const healthRoutes = [
  defineRoute({
    method: 'GET',
    url: '/health',
    operationId: 'getHealth',
    summary: 'Whether the server is up and can reach its database.',
    tag: 'health',
    scope: 'public',
    responses: {
      200: {
        description: 'Up.',
        schema: z.object({
          status: z.literal('ok'),
          version: z.string(),
          database: z.enum(['sqlite', 'postgres']),
          instance_id: z.string(),
          executors: z.array(z.string()),
          local_only: z.boolean(),
        }),
      },
    },
    errors: ['DATABASE_UNAVAILABLE'],
    handler: async ({ services }) => {
      try {
        return { status: 200, body: await services.health() };
      } catch (error) {
        throw new BerthError('DATABASE_UNAVAILABLE', `The database did not answer: ${coerceError(error).message}`);
      }
    },
  }),
];
