import { readFileSync, existsSync, statSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './errors.ts';
import { yaml } from './yaml.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';
import { plainIssue } from '../core/zod-words.ts';

export { ConfigError };

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** Validate a parsed object. Throws ConfigError listing every problem. */
export function parseConfig(input: unknown, file = '(config)'): Config {
  const r = configSchema.safeParse(input ?? {}, { error: plainIssue });
  if (!r.success) throw new ConfigError(file, r.error.issues.map(formatIssue));
  return r.data;
}

/** Read and validate a YAML or JSON config file; no file means the embedded defaults. */
export function loadConfig(file?: string, overrides: ConfigInput = {}): Config {
  if (!file) return parseConfig(overrides, '(defaults)');
  if (!existsSync(file)) throw new ConfigError(file, ['file not found']);
  if (statSync(file).isDirectory()) throw new ConfigError(file, ['a directory, not a config file']);
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : yaml().parse(text);
  } catch (e) {
    if (!file.endsWith('.json') && e instanceof yaml().YAMLParseError) {
      if (e.code === 'DUPLICATE_KEY') {
        const dups = duplicateKeys(readFileSync(file, 'utf8'));
        if (dups.length) throw new ConfigError(file, dups);
      }
      const pos = e.linePos?.[0];
      throw new ConfigError(file, [
        `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${e.message.split('\n')[0]!.replace(/( at line \d+, column \d+)?:$/, '')}`,
      ]);
    }
    throw new ConfigError(file, [`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`]);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(file, ['(top level): expected a mapping of settings']);
  }
  return parseConfig(deepMerge((raw ?? {}) as Record<string, unknown>, overrides as Record<string, unknown>), file);
}

/** Overrides (CLI flags) win over the file; objects merge, everything else replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** "line 5: duplicate key risk.maxOpenPositions (first on line 3)" for every key given twice in a mapping. */
function duplicateKeys(text: string): string[] {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines });
  const out: string[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (isSeq(node)) node.items.forEach((x, i) => walk(x, [...path, String(i)]));
    if (!isMap(node)) return;
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const line = isScalar(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]).line : 0;
      const first = seen.get(key);
      if (first !== undefined) out.push(`line ${line}: duplicate key ${[...path, key].join('.')} (first on line ${first})`);
      else seen.set(key, line);
      walk(pair.value, [...path, key]);
    }
  };
  walk(doc.contents, []);
  return out;
}
