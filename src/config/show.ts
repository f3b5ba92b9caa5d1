// The running config as people see it (/config): every secret masked with the same rules as the logs.
import { SECRET_KEYS, scrubSecrets } from '../core/logger.ts';
import { safeHost } from '../core/format.ts';
import type { Config } from './schema.ts';
import { yaml } from './yaml.ts';

const MASK = '[REDACTED]';

/** A URL shows only its scheme and host: dead-man and webhook URLs carry their secret in the path or query. */
function maskUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  if (!/^(https?|wss?|redis):$/.test(u.protocol)) return s;
  const bare = !u.username && !u.password && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash;
  return bare ? s : `${u.protocol}//${safeHost(s)}/${MASK}`;
}

function mask(v: unknown, key = ''): unknown {
  if (SECRET_KEYS.has(key.toLowerCase()) && v !== null && v !== undefined) return MASK;
  if (typeof v === 'string') return maskUrl(v);
  if (Array.isArray(v)) return v.map((x) => mask(x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, k)]));
  return v;
}

/** A deep copy of the config with secrets masked. */
export const maskedConfig = (cfg: Config): Record<string, unknown> => mask(cfg) as Record<string, unknown>;

/** The masked config as YAML or JSON text, scrubbed once more like every reply. */
export function renderConfig(cfg: Config, format: 'yaml' | 'json' = 'yaml'): string {
  const m = maskedConfig(cfg);
  return scrubSecrets(format === 'json' ? JSON.stringify(m, null, 2) : yaml().stringify(m, { lineWidth: 0 }).trimEnd());
}
