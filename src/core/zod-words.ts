// zod's own words for what a schema does not word itself ("Invalid input: expected number, received
// string", "Too small: expected number to be >=1"), said as the schemas' own messages are: what was
// expected, and what the file has. One error map for every parse of the trader's settings (the config,
// a grid's parameters); a message the schema sets wins over it (zod's precedence). Types only: zod
// itself is loaded by whoever parses.
import type { z } from 'zod';

const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of settings',
  record: 'a mapping of settings',
};

/** A value as the trader wrote it: "abc" quoted, a list as a list. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const NUMERIC = new Set(['number', 'int', 'bigint']);

/** Pass as `safeParse(x, { error: plainIssue })`; undefined leaves zod's words. */
export function plainIssue(iss: z.core.$ZodRawIssue): string | undefined {
  const got = `, got ${shown(iss.input)}`;
  if (iss.code === 'invalid_type')
    return iss.expected === 'int' ? `must be a whole number${got}` : `expected ${TYPE_WORDS[iss.expected] ?? iss.expected}${got}`;
  if (iss.code === 'invalid_value' && iss.values.length > 1)
    return `expected one of ${iss.values.map(String).join(', ')}; got ${shown(iss.input)}`;
  if (iss.code === 'too_small' && NUMERIC.has(iss.origin))
    return `must be ${iss.inclusive ? 'at least' : 'above'} ${String(iss.minimum)}${got}`;
  if (iss.code === 'too_big' && NUMERIC.has(iss.origin))
    return `must be ${iss.inclusive ? 'at most' : 'below'} ${String(iss.maximum)}${got}`;
  return undefined;
}
