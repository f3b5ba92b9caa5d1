/*
 * What a well-formed 2xx answer of each venue endpoint the adapter reads looks like. An answer that
 * does not fit (an HTML page from a proxy, `{}`, a list where an object belongs) is a failed read —
 * retried with backoff like a dropped connection — and never data: an empty account must not be read
 * out of a garbage page. Only the fields ccxt and the adapter rely on are required; anything else may
 * change freely. The schemas live with each venue's spec.
 */
import { z } from 'zod';
import type { RawAnswer } from './request-gate.ts';

/** A number as the venues send them: a decimal string (or a JSON number). */
export const num = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/)]);
export const id = z.union([z.number(), z.string().min(1)]);
export const obj = z.looseObject({});
export const list = z.array(obj);

/** Per venue (binance.ts, bybit.ts): schemas by `METHOD /path`, and one for any other path, if any. */
export interface ReplySchemas {
  byEndpoint: Record<string, z.ZodType>;
  fallback?: (path: string) => z.ZodType | undefined;
}

/** Why a 2xx answer is not a well-formed one, or null when it is. */
export function replyProblem(schemas: ReplySchemas, a: RawAnswer): string | null {
  if (a.json === undefined || a.json === null || typeof a.json !== 'object') return `not a JSON answer (${describeBody(a)})`;
  const schema = schemas.byEndpoint[`${a.method} ${a.path}`] ?? schemas.fallback?.(a.path);
  if (schema === undefined) return null;
  const r = schema.safeParse(a.json);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the answer';
  return `not a well-formed answer (${where}: ${issue.message.toLowerCase()}; got ${describeBody(a)})`;
}

function describeBody(a: RawAnswer): string {
  const body = a.body.trim();
  if (body === '') return 'an empty body';
  if (/^<(!doctype|html|\?xml)/i.test(body)) return `an HTML page, ${body.length} bytes`;
  return body.length <= 40 ? JSON.stringify(body) : `${body.length} bytes starting ${JSON.stringify(body.slice(0, 24))}`;
}
