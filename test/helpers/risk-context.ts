// The risk engine's inputs the risk tests start from: default limits with overrides, and a flat
// 10,000 account about to buy at 100 (2026-11-21 12:00 UTC, no position).
import { DEFAULT_LIMITS, type RiskContext, type RiskLimits } from '../../src/risk/types.ts';

export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

export const limits = (o: Partial<RiskLimits> = {}): RiskLimits => ({ ...DEFAULT_LIMITS, ...o });

export const ctx = (o: Partial<RiskContext> = {}): RiskContext => ({
  now: T0,
  equity: 10_000,
  freeCash: 10_000,
  capitalInUse: 0,
  openPositions: 0,
  marketType: 'spot',
  position: null,
  price: 100,
  qtyStep: 0.001,
  minQty: 0.001,
  minNotional: 5,
  takerFee: 0,
  ...o,
});
