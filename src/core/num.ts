// Rounding helpers for quantities and prices. Steps are decimal (0.001, 0.01, 1e-8): dividing by the
// step and rounding a hair above the float noise keeps 0.3/0.1 = 2.9999999999999996 from losing a step.
const EPS = 1e-9;

export function floorToStep(x: number, step: number): number {
  if (!(step > 0)) return x;
  const n = Math.floor(x / step + EPS);
  return roundTo(n * step, decimalsOf(step));
}

const decimalsCache = new Map<number, number>();

/** Decimal places of a step (0.001 → 3). Cached: steps are few and this sits on the fill path. */
export function decimalsOf(step: number): number {
  let d = decimalsCache.get(step);
  if (d === undefined) {
    d = computeDecimals(step);
    if (decimalsCache.size < 1024) decimalsCache.set(step, d);
  }
  return d;
}

function computeDecimals(step: number): number {
  if (step >= 1) return 0;
  const s = step.toExponential();
  const m = /e-(\d+)$/.exec(s);
  const exp = m ? Number(m[1]) : 0;
  const mant = s.split('e')[0] ?? '';
  const frac = mant.includes('.') ? (mant.split('.')[1]?.length ?? 0) : 0;
  return Math.min(exp + frac, 15);
}

export function roundTo(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

export const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
