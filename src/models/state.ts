// runtime_state key of the models taken out of the ensemble from chat (/models disable): survives restarts.
import type { Journal } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';

type StateStore = Pick<Journal, 'getState' | 'setState'>;

export function readDisabledModels(j: StateStore): string[] {
  const v = STATE.modelsDisabled.read(j);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function writeDisabledModels(j: StateStore, names: readonly string[], ts: number): void {
  STATE.modelsDisabled.write(j, [...new Set(names)].sort(), ts);
}
