// Sweep parameters: `--param path=a:b:step` or `--param path=v1,v2` over any config value, checked
// against the config schema (the one source of truth for paths and types) before anything runs.
import { paramsText } from './print.ts';
import { ConfigError, deepMerge, parseConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { STRATEGIES } from '../strategy/registry.ts';
import { strategyProblems } from '../config/preflight.ts';
import { mulberry32 } from '../market/generator.ts';

export type ParamValue = number | string | boolean | null;
export type ParamPoint = Record<string, ParamValue>;

export interface ParamSpec {
  path: string;
  values: ParamValue[];
}

/** Grid points kept at most (a bigger grid is refused: use --random or --adaptive). */
export const MAX_GRID = 100_000;

function literal(v: string): ParamValue {
  const t = v.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null' || t === 'off') return null;
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/** Decimals of a number as written (0.005 → 3), for exact range steps. */
const decimals = (x: number): number => {
  const s = String(x);
  const e = /e-(\d+)$/.exec(s);
  if (e) return Number(e[1]);
  const i = s.indexOf('.');
  return i < 0 ? 0 : s.length - i - 1;
};

/** Parse one `--param` text. Throws an error naming the path. */
export function parseParam(text: string): ParamSpec {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--param ${text}: write path=a:b:step or path=v1,v2 (e.g. strategy.params.fast=5:30:5)`);
  const path = text.slice(0, eq).trim();
  const rhs = text.slice(eq + 1).trim();
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(path)) throw new Error(`--param ${path}: not a config path (e.g. risk.stopLossPct)`);
  const range = /^(-?[\d.e-]+):(-?[\d.e-]+):(-?[\d.e-]+)$/.exec(rhs);
  if (range) {
    const [a, b, step] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (![a, b, step].every(Number.isFinite)) throw new Error(`--param ${path}=${rhs}: a range needs three numbers a:b:step`);
    if (!(step > 0)) throw new Error(`--param ${path}=${rhs}: the step must be positive`);
    if (a > b) throw new Error(`--param ${path}=${rhs}: empty range (${a} > ${b})`);
    const d = Math.max(decimals(a), decimals(step));
    const n = Math.floor((b - a) / step + 1e-9) + 1;
    if (n > MAX_GRID) throw new Error(`--param ${path}=${rhs}: ${n} values, more than ${MAX_GRID}`);
    return { path, values: Array.from({ length: n }, (_, i) => Number((a + i * step).toFixed(d))) };
  }
  const values = rhs.split(',').map(literal);
  if (rhs === '' || values.some((v) => v === '')) throw new Error(`--param ${path}=${rhs}: empty value list`);
  return { path, values: [...new Set(values)] };
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const over: Record<string, unknown> = {};
  let cur = over;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] = value;
    else cur = cur[k] = {} as Record<string, unknown>;
  });
  return deepMerge(obj, over);
}

/** The raw config with a point's values set (arrays and scalars replace, objects merge). */
export function applyPoint(raw: Record<string, unknown>, point: ParamPoint): Record<string, unknown> {
  let out = raw;
  for (const [path, v] of Object.entries(point)) out = setPath(out, path, v);
  return out;
}

/**
 * Check every spec against the schema: each value alone on the base config must validate (unknown
 * paths, wrong types and out-of-range values fail here, naming the path), and strategy parameters
 * must be ones the strategy knows.
 */
export function validateSpecs(raw: Record<string, unknown>, specs: readonly ParamSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.path)) throw new Error(`--param ${s.path} is given twice`);
    seen.add(s.path);
    for (const v of s.values) {
      try {
        parseConfig(setPath(raw, s.path, v), '--param');
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        throw new Error(`--param ${s.path}=${String(v)}: ${e.problems.join('; ')}`);
      }
    }
    const m = /^strategy\.params\.(\w+)$/.exec(s.path);
    if (m) {
      const names = specs.find((x) => x.path === 'strategy.name')?.values ?? [parseConfig(raw).strategy.name];
      for (const name of names) {
        const f = STRATEGIES[String(name)];
        if (f && !Object.hasOwn(f.defaults, m[1]!))
          throw new Error(`--param ${s.path}: ${String(name)} has no parameter "${m[1]}"; it has ${Object.keys(f.defaults).join(', ')}`);
      }
    }
  }
}

/** Every combination, in a stable order (the first spec varies slowest). */
export function gridPoints(specs: readonly ParamSpec[]): ParamPoint[] {
  const size = specs.reduce((n, s) => n * s.values.length, 1);
  if (size > MAX_GRID) throw new Error(`the grid has ${size} points, more than ${MAX_GRID}: use --random N or --adaptive`);
  let out: ParamPoint[] = [{}];
  for (const s of specs) out = out.flatMap((p) => s.values.map((v) => ({ ...p, [s.path]: v })));
  return out;
}

/** `n` distinct grid points drawn with a seeded generator (all of them when n ≥ the grid). */
export function randomPoints(specs: readonly ParamSpec[], n: number, seed: number): ParamPoint[] {
  const grid = gridPoints(specs);
  if (n >= grid.length) return grid;
  const rand = mulberry32(seed);
  // Partial Fisher-Yates: the first n of a seeded shuffle.
  const idx = grid.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, n).map((i) => grid[i]!);
}

export interface BuiltPoint {
  point: ParamPoint;
  config: Config;
}

/** Configs for the points; combinations the strategy refuses (fast ≥ slow…) are left out and counted. */
export function buildConfigs(
  raw: Record<string, unknown>,
  points: readonly ParamPoint[],
): { ok: BuiltPoint[]; skipped: Array<{ point: ParamPoint; why: string }> } {
  const ok: BuiltPoint[] = [];
  const skipped: Array<{ point: ParamPoint; why: string }> = [];
  for (const point of points) {
    let config: Config;
    try {
      config = parseConfig(applyPoint(raw, point), '--param');
    } catch (e) {
      skipped.push({ point, why: e instanceof ConfigError ? e.problems.join('; ') : (e as Error).message });
      continue;
    }
    const problems = strategyProblems(config); // start-up's own check: model, ensemble and grid strategies too
    if (problems.length) skipped.push({ point, why: problems.join('; ') });
    else ok.push({ point, config });
  }
  return { ok, skipped };
}

export const pointLabel = (p: ParamPoint): string =>
  paramsText(Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/^strategy\.params\./, ''), v])));
