// Confidence sizing (src/risk/sizing.ts): a model signal's size, from any sizing mode, times
// floor + (1 − floor) × confidence, before every size limit; off by default.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { floorToStep } from '../../src/core/num.ts';
import type { OrderRequest, Signal } from '../../src/core/types.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { confidenceScale } from '../../src/risk/sizing.ts';
import { DEFAULT_LIMITS, type RiskDecision, type RiskIntent, type RiskLimits, type SizingMode } from '../../src/risk/types.ts';
import { rig, SYM } from '../helpers/engine-rig.ts';
import { ctx, limits } from '../helpers/risk-context.ts';

function entry(confidence?: number, o: { stopLoss?: number; qty?: number } = {}): RiskIntent {
  const signal: Signal = { symbol: SYM, action: 'enter_long', ts: 0, price: 100, strategy: 'ensemble', reason: 'test' };
  if (confidence !== undefined) signal.confidence = confidence;
  if (o.stopLoss !== undefined) signal.stopLoss = o.stopLoss;
  const request: OrderRequest = { symbol: SYM, side: 'buy', type: 'market', tif: 'GTC', reduceOnly: false };
  if (o.qty !== undefined) request.qty = o.qty;
  return { signal, request, reducing: false };
}

/** An engine whose volatility estimate is known (0.01 alternating ±1 % closes → a fixed stdev). */
function engineWith(l: RiskLimits): RiskEngine {
  const eng = new RiskEngine(l);
  for (let i = 0; i <= l.volatilityWindow; i++) eng.onBar(SYM, i % 2 === 0 ? 100 : 101);
  return eng;
}

const size = (d: RiskDecision): number => (d.qty ?? d.quoteQty)!;

// Each mode set up so no later limit binds: the scale shows alone.
const MODES: Array<{ mode: SizingMode; lim: Partial<RiskLimits>; stop?: number }> = [
  { mode: 'risk', lim: {}, stop: 95 }, // 200 at risk / 5 → 40 BTC
  { mode: 'volatility', lim: { volatilityWindow: 10, volatilityMultiple: 20, stopLossPct: null } },
  { mode: 'all-in', lim: { stopLossPct: null, maxCapitalInUse: 1 } }, // 10,000 USDT spend
  { mode: 'fixed', lim: { fixedQuote: 1000 } }, // 1,000 USDT spend
];

describe('confidence sizing', () => {
  it('is off by default: a confidence changes nothing', () => {
    expect(DEFAULT_LIMITS.confidenceSizing).toBe('off');
    expect(parseConfig({}).risk.confidenceSizing).toBe('off');
    for (const m of MODES) {
      const l = limits({ sizing: m.mode, ...m.lim });
      const plain = engineWith(l).evaluate(entry(undefined, { stopLoss: m.stop }), ctx());
      const sure = engineWith(l).evaluate(entry(0.2, { stopLoss: m.stop }), ctx());
      expect(sure, m.mode).toEqual(plain);
      expect(sure.reason).not.toContain('confidence');
    }
  });

  it('scales every sizing mode by floor + (1 − floor) × confidence and says so', () => {
    for (const m of MODES) {
      for (const floor of [0, 0.3]) {
        const l = limits({ sizing: m.mode, ...m.lim, confidenceSizing: 'linear', confidenceFloor: floor });
        const full = engineWith({ ...l, confidenceSizing: 'off' }).evaluate(entry(0.5, { stopLoss: m.stop }), ctx());
        expect(full.action, m.mode).toBe('accept');
        for (const c of [0.25, 0.5, 0.72, 1]) {
          const k = floor + (1 - floor) * c;
          const d = engineWith(l).evaluate(entry(c, { stopLoss: m.stop }), ctx());
          const label = `${m.mode} floor ${floor} confidence ${c}`;
          expect(d.action, label).toBe('accept');
          const want = d.quoteQty !== undefined ? size(full) * k : floorToStep(size(full) * k, 0.001);
          expect(size(d), label).toBeCloseTo(want, 9);
          expect(size(d), label).toBeLessThanOrEqual(size(full));
          const shown = (x: number) => String(Number(x.toFixed(2)));
          expect(d.reason, label).toContain(`× ${shown(k)} for confidence ${shown(c)}`);
        }
      }
    }
  });

  it('says the scale in words: "× 0.72 for confidence 0.72"', () => {
    const d = new RiskEngine(limits({ sizing: 'fixed', fixedQuote: 1000, confidenceSizing: 'linear' })).evaluate(entry(0.72), ctx());
    expect(d).toMatchObject({ action: 'accept', quoteQty: 720 });
    expect(d.reason).toBe('accepted 720.00 USDT: fixed size 1,000.00 USDT × 0.72 for confidence 0.72');
  });

  it('a signal without a confidence, or an explicit quantity, is not scaled', () => {
    const eng = new RiskEngine(limits({ confidenceSizing: 'linear' }));
    const d = eng.evaluate(entry(undefined, { stopLoss: 95 }), ctx());
    expect(d).toMatchObject({ action: 'accept', qty: 40 });
    expect(d.reason).not.toContain('confidence');
    expect(eng.evaluate(entry(0.1, { qty: 2 }), ctx())).toMatchObject({ action: 'accept', qty: 2 });
  });

  it('the limits still cap a scaled size; a size scaled below the minimum is refused with the scale named', () => {
    // all-in, 50 % capital limit: 80 % of the cash is capped to 5,000; 30 % passes as 3,000.
    const l = limits({ sizing: 'all-in', stopLossPct: null, confidenceSizing: 'linear' });
    const capped = new RiskEngine(l).evaluate(entry(0.8), ctx());
    expect(capped).toMatchObject({ action: 'resize', rule: 'max_capital_in_use', quoteQty: 5000 });
    expect(capped.reason).toContain('resized 8,000.00 → 5,000.00 USDT');
    expect(new RiskEngine(l).evaluate(entry(0.3), ctx())).toMatchObject({ action: 'accept', quoteQty: 3000 });
    const tiny = new RiskEngine(limits({ sizing: 'fixed', fixedQuote: 10, confidenceSizing: 'linear' })).evaluate(entry(0.2), ctx());
    expect(tiny).toMatchObject({ action: 'reject', rule: 'min_size' });
    expect(tiny.reason).toContain('× 0.2 for confidence 0.2');
  });

  it('a confidence outside [0, 1] or NaN never makes a size bigger', () => {
    const l = { confidenceSizing: 'linear' as const, confidenceFloor: 0.25 };
    expect(confidenceScale(l, 1.7)).toBe(1);
    expect(confidenceScale(l, -1)).toBe(0.25);
    expect(confidenceScale(l, NaN)).toBe(0.25);
    expect(confidenceScale(l, undefined)).toBeNull();
    expect(confidenceScale({ ...l, confidenceSizing: 'off' }, 0.5)).toBeNull();
  });

  it('config file and /risk set take the keys from the one table', () => {
    const cfg = parseConfig({ risk: { confidenceSizing: 'linear', confidenceFloor: '30%' } }).risk;
    expect(cfg).toMatchObject({ confidenceSizing: 'linear', confidenceFloor: 0.3 });
    const eng = new RiskEngine(limits());
    expect(eng.setLimit('confidenceSizing', 'linear')).toEqual({ ok: true, old: 'off', new: 'linear' });
    expect(eng.setLimit('confidenceFloor', '150%')).toMatchObject({ ok: false });
    expect(eng.limits.confidenceFloor).toBe(0);
  });

  it('property: never above the unscaled size, never above the limits, at least the scale times the unscaled size', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SizingMode>('risk', 'volatility', 'all-in', 'fixed'),
        fc.double({ min: 0, max: 1, noNaN: true }), // confidence
        fc.double({ min: 0, max: 1, noNaN: true }), // floor
        fc.double({ min: 100, max: 1e6, noNaN: true }), // equity
        fc.double({ min: 0, max: 1, noNaN: true }), // free cash share
        fc.double({ min: 0.05, max: 1, noNaN: true }), // maxCapitalInUse
        fc.double({ min: 0.002, max: 0.3, noNaN: true }), // stop distance
        fc.double({ min: 0, max: 0.002, noNaN: true }), // fee
        fc.double({ min: 10, max: 1e5, noNaN: true }), // fixedQuote
        (mode, conf, floor, equity, cashShare, maxCap, stopPct, fee, fixedQuote) => {
          const l = limits({ sizing: mode, stopLossPct: stopPct, maxCapitalInUse: maxCap, fixedQuote, volatilityWindow: 10 });
          const c = ctx({ equity, freeCash: equity * cashShare, takerFee: fee, minNotional: 0, minQty: 0.001 });
          const off = engineWith(l).evaluate(entry(conf), c);
          const on = engineWith({ ...l, confidenceSizing: 'linear', confidenceFloor: floor }).evaluate(entry(conf), c);
          if (off.action === 'reject') {
            expect(on.action).toBe('reject');
            return;
          }
          const k = floor + (1 - floor) * conf;
          if (on.action === 'reject') {
            expect(on.rule).toBe('min_size');
            return;
          }
          const s = size(on);
          const u = size(off);
          const tol = 1e-9 * Math.max(1, u);
          expect(s).toBeLessThanOrEqual(u + tol);
          const step = on.quoteQty !== undefined ? 0 : 0.001;
          expect(s).toBeGreaterThanOrEqual(k * u - step - tol);
          // The limits, in the engine's terms: capital (spot notional incl. fee) and the loss at the stop.
          const px = 100;
          const notional = on.quoteQty !== undefined ? s : s * px * (1 + fee);
          expect(notional).toBeLessThanOrEqual(equity * maxCap * (1 + 1e-9));
          expect(notional).toBeLessThanOrEqual(c.freeCash * (1 + 1e-9) + 1e-9);
          const lossPerQuote = 1 - ((1 - stopPct) * (1 - fee)) / (1 + fee);
          const loss = on.quoteQty !== undefined ? s * lossPerQuote : s * px * (stopPct + fee * (2 - stopPct));
          expect(loss).toBeLessThanOrEqual(equity * l.riskPerTrade * (1 + 1e-9));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('confidence sizing in the engine', () => {
  it("a model signal's confidence changes the filled quantity on the paper venue", () => {
    const filled = (confidence: number | undefined, sizing: 'off' | 'linear'): { qty: number; reason: string } => {
      const r = rig(
        { 0: 'enter_long' },
        {
          limits: { sizing: 'fixed', fixedQuote: 1000, confidenceSizing: sizing, confidenceFloor: 0.2 },
          extra: { confidence, strategy: 'ensemble' },
        },
      );
      r.candle(100, 101, 99, 100);
      r.candle(100, 101, 99, 100);
      const reason = r.journal.sqlite.prepare('SELECT verdict_reason AS v FROM decisions ORDER BY id DESC LIMIT 1').get() as { v: string };
      return { qty: r.engine.portfolio.positions.get(SYM)!.qty, reason: reason.v };
    };
    const full = filled(undefined, 'linear');
    const off = filled(0.6, 'off');
    const scaled = filled(0.6, 'linear'); // 0.2 + 0.8 × 0.6 = 0.68
    expect(off.qty).toBe(full.qty);
    expect(scaled.qty).toBeCloseTo(full.qty * 0.68, 3);
    expect(scaled.qty).toBeLessThan(full.qty);
    expect(scaled.reason).toContain('× 0.68 for confidence 0.6');
    expect(full.reason).not.toContain('confidence');
  });
});
