import { z } from 'zod';

export const PagingQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1, { message: 'limit must be between 1 and 1000' })
    .max(1000, { message: 'limit must be between 1 and 1000' })
    .default(50)
    .describe('Page size (1–1000). (Default: 50)'),
  offset: z.coerce.number().int().min(0).default(0).describe('How many items to skip. (Default: 0)'),
};

/** A page of a list, in the shape CloudReactor's API uses. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    count: z.number().int().describe('Items matching the filters, across all pages.'),
    next: z.string().nullable().describe('Path of the next page, or null.'),
    previous: z.string().nullable().describe('Path of the previous page, or null.'),
    results: z.array(item),
  });
}

/** Builds `{count, next, previous, results}` with links that keep the request's other query parameters. */
export function page<T>(url: string, limit: number, offset: number, total: number, results: T[]) {
  const [path, search] = url.split('?') as [string, string | undefined];
  const link = (newOffset: number) => {
    const params = new URLSearchParams(search ?? '');
    params.set('limit', String(limit));
    params.set('offset', String(newOffset));
    return `${path}?${params.toString()}`;
  };
  return {
    count: total,
    next: offset + results.length < total ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    results,
  };
}

/** Query booleans: `true`/`false`/`1`/`0`. */
export const QueryBoolean = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');
