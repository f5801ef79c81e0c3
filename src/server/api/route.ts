import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ApiKeyScope } from '../../domain/api-key.js';
import type { ErrorCode } from '../../domain/errors.js';
import type { Principal } from '../auth.js';
import type { Services } from './services.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  services: Services;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** What a handler returns: a status and a JSON body (or none for 204). */
export interface HandlerResult {
  status: number;
  body?: unknown;
}

/**
 * One API route, described once: the app registers it, validates requests with its schemas,
 * and the OpenAPI document is generated from the same description.
 */
export interface RouteDefinition<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Fastify path syntax: `/api/v1/tasks/:task`. A trailing slash is accepted too. */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Least scope allowed; `public` needs no key. */
  scope: ApiKeyScope | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /** Response schemas by status, for the OpenAPI document. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Error codes this route may answer with, besides the ones every route may. */
  errors?: readonly ErrorCode[];
  handler(ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<HandlerResult>;
}

/** Identity function that keeps the handler's types tied to the schemas. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  route: RouteDefinition<P, Q, B>,
): RouteDefinition {
  return route as unknown as RouteDefinition;
}
