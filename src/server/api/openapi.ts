import { z } from 'zod';
import { ERROR_CATALOGUE } from '../../domain/errors.js';
import type { RouteDefinition } from './route.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(type: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const schema = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

/** `/api/v1/tasks/:task` → `/api/v1/tasks/{task}` */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}');
}

const ErrorResponse = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CATALOGUE) as [string, ...string[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The OpenAPI 3.1 document, generated from the route definitions (the same schemas that validate requests). */
export function buildOpenApiDocument(routes: readonly RouteDefinition[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (!schema) continue;
      const json = schemaOf(schema, 'input');
      const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((json.required ?? []) as string[]);
      for (const [name, prop] of Object.entries(properties)) {
        const { description, ...rest } = prop;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = response.schema
        ? { description: response.description, content: { 'application/json': { schema: schemaOf(response.schema, 'output') } } }
        : { description: response.description };
    }
    responses.default = {
      description: `An error: ${['VALIDATION_FAILED', 'UNAUTHENTICATED', 'INSUFFICIENT_SCOPE', ...(route.errors ?? [])].join(', ')}, …`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }
        : {}),
      responses,
      ...(route.scope === 'public' ? { security: [] } : { 'x-berth-scope': route.scope }),
    };
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Berth API',
      version: '1',
      description:
        'Run Environments, Tasks and Task Executions. JSON with snake_case fields; errors are {"error": {"code", "message", "details"}}. Paths accept a trailing slash.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Berth API key.' } },
      schemas: { Error: schemaOf(ErrorResponse, 'output') },
    },
  };
}
