// Config reload from chat, the pure part: what changed between the running config and the file, which
// of it can be applied while the bot runs, and which needs a restart.
import { isDeepStrictEqual } from 'node:util';
import { RiskEngine } from '../risk/engine.ts';
import { limitKey, showLimit } from '../risk/limits.ts';
import { shownParams } from '../strategy/registry.ts';
import { isModelStrategy } from '../models/wire.ts';
import { strategyProblems } from './preflight.ts';
import type { Config } from './schema.ts';

/**
 * The settings a reload applies at run time (a path and everything under it). Everything else —
 * mode, venue, symbols, timeframe, data, journal, log, metrics, heartbeat, backup, the console, the
 * transports' switches and webhooks… — is read once at start and needs a restart.
 */
export const LIVE_PATHS = [
  'risk',
  'approvals',
  'alerts',
  'reports',
  'chat.telegram.users',
  'chat.telegram.alertChats',
  'chat.discord.users',
  'chat.discord.roles',
  'chat.discord.routes',
  'strategy.params',
] as const;

export interface ConfigChange {
  /** Dotted path in the config file, e.g. risk.riskPerTrade. */
  path: string;
  from: unknown;
  to: unknown;
}

export interface ReloadPlan {
  /** Every change, sorted by path. */
  changes: ConfigChange[];
  /** Changes applied at run time (all of them, or none when anything needs a restart or has an error). */
  apply: ConfigChange[];
  /** Paths that changed but need a restart. */
  needsRestart: string[];
  /** Changes the running bot can't take, each "path: why". */
  errors: string[];
}

export const isLivePath = (path: string): boolean => LIVE_PATHS.some((p) => path === p || path.startsWith(`${p}.`));

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Changed leaves: objects are compared key by key, arrays and scalars as a whole. */
export function diffConfig(a: unknown, b: unknown, path = ''): ConfigChange[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffConfig(a[k], b[k], path ? `${path}.${k}` : k));
  }
  // strategy.params is a record: a parameter added or removed is a change of that parameter.
  return isDeepStrictEqual(a, b) ? [] : [{ path: path || '(top level)', from: a, to: b }];
}

/** What reloading `next` over `running` would do. Pure: reads and changes nothing. */
export function planReload(running: Config, next: Config): ReloadPlan {
  const changes = diffConfig(asInEffect(running), asInEffect(next));
  // A grid's levels are fixed while it runs: new grid parameters make a new grid at the next start. A model
  // strategy is built by the model runtime at start (its members, their scoring), not by the strategy registry.
  const paramsAtStart = next.strategy.name === 'grid' || isModelStrategy(next.strategy.name);
  const needsRestart = changes
    .filter((c) => !isLivePath(c.path) || (paramsAtStart && c.path.startsWith('strategy.params')))
    .map((c) => c.path);
  const errors: string[] = [];
  // Limits go through the one limit table, on a scratch engine (as /risk set checks them).
  const scratch = new RiskEngine({ ...running.risk });
  for (const c of changes.filter((x) => x.path.startsWith('risk.'))) {
    const key = c.path.slice('risk.'.length);
    const r = scratch.setLimit(key, limitInput(c.to));
    if (!r.ok) errors.push(`${c.path}: ${r.error}`);
  }
  if (changes.some((c) => c.path.startsWith('strategy.params')) && next.strategy.name === running.strategy.name) {
    errors.push(...strategyProblems(next)); // start-up's own check: the two never disagree
  }
  const apply = needsRestart.length || errors.length ? [] : changes.filter((c) => isLivePath(c.path));
  return { changes, apply, needsRestart, errors };
}

/** Strategy parameters as they take effect, the strategy's defaults filled in: "fast: 10 → 12", not "(unset) → 12". */
const asInEffect = (c: Config): Config => ({ ...c, strategy: { ...c.strategy, params: shownParams(c.strategy.name, c.strategy.params) } });

/** A limit's value as /risk set takes it (null = off). */
export const limitInput = (v: unknown): string | number => (v === null || v === undefined ? 'off' : typeof v === 'number' ? v : String(v));

/** "risk.riskPerTrade: 2% → 1%" for a change: risk limits as /risk shows them, other values as JSON. */
export function showChange(c: ConfigChange): string {
  const limit = c.path.startsWith('risk.') ? limitKey(c.path.slice('risk.'.length)) : undefined;
  const show = (v: unknown): string =>
    v === undefined ? '(unset)' : limit !== undefined ? showLimit(limit, v) : typeof v === 'string' ? v : JSON.stringify(v);
  const s = `${c.path}: ${show(c.from)} → ${show(c.to)}`;
  return s.length > 160 ? `${c.path}: changed` : s;
}

import type { LastReload } from '../journal/state-keys.ts';
export type { LastReload };

/** Reading the file: the new config and its plan, or the file's problems (start-up's own messages). */
export type ReloadCheck = { ok: true; next: Config; plan: ReloadPlan } | { ok: false; problems: string[] };

/** What /config and /reload use. */
export interface ConfigControls {
  readonly file: string | undefined;
  check(): ReloadCheck;
  /** Apply a checked plan; returns what was applied (paths). */
  apply(check: Extract<ReloadCheck, { ok: true }>, by: string): string[];
  last(): LastReload | null;
}

/** Make `target` equal to `source`, keeping `target`'s nested objects (other parts hold them). */
export function assignInPlace(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const k of Object.keys(target)) if (!Object.hasOwn(source, k)) delete target[k];
  for (const [k, v] of Object.entries(source)) {
    const t = target[k];
    if (isRecord(t) && isRecord(v)) assignInPlace(t, v);
    else target[k] = structuredClone(v);
  }
}

/** "risk.riskPerTrade: 2% → 1%; approvals.mode: off → always" (bounded). */
export function describeChanges(changes: ConfigChange[], max = 12): string {
  const shown = changes.slice(0, max).map(showChange);
  return shown.join('; ') + (changes.length > max ? `; and ${changes.length - max} more` : '');
}
