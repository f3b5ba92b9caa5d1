// runtime_state key of the models taken out of the ensemble from chat (/models disable): survives restarts.
import type { Journal } from '../journal/journal.ts';

export const MODELS_DISABLED_KEY = 'models_disabled';

type StateStore = Pick<Journal, 'getState' | 'setState'>;

export function readDisabledModels(j: StateStore): string[] {
  const v = j.getState<unknown>(MODELS_DISABLED_KEY, []);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function writeDisabledModels(j: StateStore, names: readonly string[], ts: number): void {
  j.setState(MODELS_DISABLED_KEY, [...new Set(names)].sort(), ts);
}
