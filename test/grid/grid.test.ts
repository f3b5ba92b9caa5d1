// The grid strategy on the paper venue: levels math (property-tested), resting limit orders at the
// levels, each fill replaced by its opposite, stop-out, and a restart that rebuilds the grid from the
// journal and the venue without a second order on any level.
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { SimClock } from '../../src/core/clock.ts';
import type { Candle } from '../../src/core/types.ts';
import type { AlertInput } from '../../src/core/alerts.ts';
import { flatEntry, gridLevels } from '../../src/grid/levels.ts';
import { gridParamsOf } from '../../src/grid/config.ts';
import { Journal } from '../../src/journal/journal.ts';
import { isTerminal } from '../../src/core/order-state.ts';
import { tempDir } from '../helpers/harness.ts';
import { startupProblems } from '../../src/config/preflight.ts';
import { planReload } from '../../src/config/reload.ts';

const SYM = 'BTC/USDT';
const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1);

describe('grid levels', () => {
  it('are ascending, start at lower, end at upper, evenly spaced (arithmetic) or in ratio (geometric)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        fc.double({ min: 1.01, max: 3, noNaN: true }),
        fc.integer({ min: 2, max: 50 }),
        fc.constantFrom('arithmetic' as const, 'geometric' as const),
        (lower, f, n, spacing) => {
          const upper = lower * f;
          const lv = gridLevels(lower, upper, n, spacing);
          expect(lv).toHaveLength(n);
          expect(lv[0]).toBeCloseTo(lower, 6);
          expect(lv[n - 1]).toBe(upper);
          for (let i = 1; i < n; i++) expect(lv[i]!).toBeGreaterThan(lv[i - 1]!);
          if (n >= 3) {
            const a = spacing === 'arithmetic' ? lv[1]! - lv[0]! : lv[1]! / lv[0]!;
            const b = spacing === 'arithmetic' ? lv[n - 1]! - lv[n - 2]! : lv[n - 1]! / lv[n - 2]!;
            expect(Math.abs(a - b)).toBeLessThan(1e-6 * Math.max(1, a));
          }
        },
      ),
    );
  });

  it('rounded to the tick they never collide (refused instead), and a flat pair never buys at or above the price', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 200 }),
        fc.integer({ min: 2, max: 300 }),
        fc.double({ min: 50, max: 300, noNaN: true }),
        fc.boolean(),
        (lower, n, price, shorts) => {
          let lv: number[];
          try {
            lv = gridLevels(lower, lower + 10, n, 'arithmetic', 0.1);
          } catch (e) {
            expect(String(e)).toMatch(/collide at the price step/);
            return;
          }
          for (let k = 0; k < lv.length - 1; k++) {
            const e = flatEntry(lv, k, price, shorts);
            if (e === 'buy') expect(lv[k]!).toBeLessThan(price);
            if (e === 'sell') expect(lv[k + 1]!).toBeGreaterThan(price);
            if (!shorts) expect(e).not.toBe('sell');
          }
        },
      ),
    );
  });

  it('bad grid parameters are refused with the key named', () => {
    const bad = (params: Record<string, number>, spacing?: 'geometric') => () => gridParamsOf({ params, ...(spacing ? { spacing } : {}) });
    expect(bad({ lower: 100, upper: 90, levels: 5, qtyPerLevel: 1 })).toThrow(/strategy\.params\.upper: must be above lower/);
    expect(bad({ lower: 90, upper: 100, levels: 5 })).toThrow(/qtyPerLevel: give exactly one of qtyPerLevel and quotePerLevel/);
    expect(bad({ lower: 90, upper: 100, levels: 1, qtyPerLevel: 1 })).toThrow(/levels/);
    expect(bad({ lower: 90, upper: 100, levels: 5, qtyPerLevel: 1, stopBelow: 95 })).toThrow(/stopBelow: must be below lower/);
    expect(bad({ lower: 90, upper: 100, levels: 5, qtyPerLevel: 1, bogus: 1 })).toThrow(/bogus/);
    expect(gridParamsOf({ params: { lower: 90, upper: 100, levels: 5, qtyPerLevel: 1 } }, 0.01).spacing).toBe('arithmetic');
    // params.spacing (a word among numbers) is read by the config schema
    const cfg = parseConfig({
      strategy: { name: 'grid', params: { lower: 90, upper: 100, levels: 5, qtyPerLevel: 1, spacing: 'geometric' } },
    } as never);
    expect(cfg.strategy.spacing).toBe('geometric');
    expect(() => parseConfig({ strategy: { name: 'grid', params: { spacing: 'zigzag' } } } as never)).toThrow(/spacing/);
  });
});

describe('grid config: start-up check and reload', () => {
  const grid = (params: Record<string, number>) => parseConfig({ strategy: { name: 'grid', params } } as never);
  it('start-up names a bad grid (levels colliding at the paper tick) before anything runs', () => {
    const cfg = parseConfig({ strategy: { name: 'grid', params: { lower: 100, upper: 100.05, levels: 10, qtyPerLevel: 1 } } } as never);
    expect(startupProblems(cfg, { injected: { exchange: true, feeds: true, logger: true } })).toContainEqual(
      expect.stringMatching(/^strategy\.params: 10 levels between 100 and 100\.05 collide at the price step 0\.01: use fewer levels$/),
    );
  });
  it('/reload: new grid parameters need a restart (a new grid then); bad ones are refused', () => {
    const running = grid({ lower: 90, upper: 110, levels: 5, qtyPerLevel: 1 });
    const wider = planReload(running, grid({ lower: 80, upper: 110, levels: 5, qtyPerLevel: 1 }));
    expect(wider).toMatchObject({ apply: [], needsRestart: ['strategy.params.lower'], errors: [] });
    const bad = planReload(running, grid({ lower: 120, upper: 110, levels: 5, qtyPerLevel: 1 }));
    expect(bad.errors).toEqual(['strategy.params.upper: must be above lower (120)']);
    // Every wrong key at once, each named, as start-up's check says them (one check for both).
    const two = planReload(running, grid({ lower: 90, upper: 110, levels: 5, qty: 1 }));
    expect(two.errors).toEqual([
      'strategy.params.qty: unknown grid parameter; accepted parameters: lower, upper, levels, spacing, qtyPerLevel, quotePerLevel, stopBelow, stopAbove',
      'strategy.params.qtyPerLevel: give exactly one of qtyPerLevel and quotePerLevel',
    ]);
    expect(
      startupProblems(grid({ lower: 90, upper: 110, levels: 5, qty: 1 }), { injected: { exchange: true, feeds: true, logger: true } }),
    ).toEqual(two.errors);
    // A key wrong on its own does not hide the checks between keys.
    const four = planReload(running, grid({ lower: 100, upper: 90, levels: 1.5, stopBelow: 120 }));
    expect(four.errors).toEqual([
      'strategy.params.levels: must be a whole number, got 1.5',
      'strategy.params.upper: must be above lower (100)',
      'strategy.params.qtyPerLevel: give exactly one of qtyPerLevel and quotePerLevel',
      'strategy.params.stopBelow: must be below lower (100)',
    ]);
  });
});

/** A saw: from 100 down to `lo`, up to `hi`, and so on; each candle moves `step`. */
function saw(n: number, lo: number, hi: number, step: number, from = 100, t0 = T0): Candle[] {
  const out: Candle[] = [];
  let p = from;
  let dir = -1;
  for (let i = 0; i < n; i++) {
    let next = p + dir * step;
    if (next <= lo || next >= hi) {
      next = Math.min(hi, Math.max(lo, next));
      dir = -dir;
    }
    out.push({ ts: t0 + i * MIN, open: p, high: Math.max(p, next) + 0.05, low: Math.min(p, next) - 0.05, close: next, volume: 1000 });
    p = next;
  }
  return out;
}

const GRID: ConfigInput = {
  botId: 'gt',
  mode: 'paper',
  market: { symbols: [SYM], timeframe: '1m', type: 'spot' },
  strategy: { name: 'grid', params: { lower: 96, upper: 104, levels: 9, qtyPerLevel: 0.1 } },
  exchange: { paper: { startingBalance: { USDT: 10_000 }, makerFee: 0.001, takerFee: 0.001 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
};

function open(file: string, input: ConfigInput = GRID) {
  const cfg = parseConfig(input as never);
  const clock = new SimClock(T0);
  const journal = new Journal({ path: file });
  const alerts: AlertInput[] = [];
  const k = buildEngine(cfg, { clock, journal, persistProgress: true, alerts: { raise: (a) => void alerts.push(a) } });
  return { ...k, clock, cfg, alerts };
}

type Kernelish = ReturnType<typeof open>;

/** Per pair, the working grid orders: never more than one. */
function workingPerPair(k: Kernelish): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of k.engine.liveOrders.values()) {
    const m = /^gt-g\w+-(\d+)-\d+$/.exec(o.clientOrderId);
    if (!m) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), o.clientOrderId]);
  }
  return out;
}

function feed(k: Kernelish, candles: Candle[], each?: () => void): void {
  for (const c of candles) {
    k.clock.set(c.ts + MIN);
    k.engine.onCandle(SYM, c);
    for (const [pair, ids] of workingPerPair(k)) expect(ids, `pair ${pair}`).toHaveLength(1);
    each?.();
  }
}

describe('grid on the paper venue', () => {
  it('a fill heard between two candles whose opposite cannot be placed: an alert, the error caught, the engine intact', async () => {
    const k = open(join(tempDir('skipper-grid-between-'), 'j.db'));
    feed(k, saw(1, 95, 105, 0.4));
    const buy = [...k.engine.liveOrders.values()].find((o) => o.price === 99)!;
    const working = k.engine.liveOrders.size;
    k.engine.manualOrder = () => {
      throw new Error('disk I/O error');
    };
    // What a live venue reports between two closes: the trade, then the order filled.
    const ts = k.clock.now() + 10_000;
    k.engine.onFill({
      tradeId: 't-between',
      clientOrderId: buy.clientOrderId,
      symbol: SYM,
      side: 'buy',
      price: 99,
      qty: 0.1,
      fee: 0.0099,
      feeCurrency: 'USDT',
      liquidity: 'maker',
      ts,
    });
    k.engine.onOrderUpdate({ clientOrderId: buy.clientOrderId, status: 'filled', ts });
    await new Promise((r) => setImmediate(r)); // the grid answers in a microtask
    expect(k.alerts).toContainEqual(
      expect.objectContaining({ title: `Grid ${SYM}: opposite order not placed`, message: expect.stringContaining('disk I/O error') }),
    );
    expect(k.engine.liveOrders.size).toBe(working - 1);
    expect(k.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(0.1, 9);
    k.journal.close();
  });

  it('rests buys below the price, sells each filled buy one level up, and books the round trips as profit', () => {
    const dir = tempDir('skipper-grid-');
    const k = open(join(dir, 'j.db'));
    feed(k, saw(1, 95, 105, 0.4));
    // price 99.6: pairs whose lower level is below it buy there (96..99); no sells on spot without inventory
    const first = [...k.engine.liveOrders.values()];
    expect(first.map((o) => `${o.side} ${o.price} ${o.type} ${o.purpose}`).sort()).toEqual([
      'buy 96 limit grid',
      'buy 97 limit grid',
      'buy 98 limit grid',
      'buy 99 limit grid',
    ]);
    feed(k, saw(400, 95.5, 104.5, 0.4).slice(1));
    const v = k.grid!.views()[0]!;
    expect(v.status).toBe('active');
    expect(v.roundTrips).toBeGreaterThan(10);
    // each round trip earns one level (1 USDT × 0.1) less two maker fees (~0.02)
    expect(v.profit).toBeGreaterThan(v.roundTrips * 0.07);
    expect(v.profit).toBeLessThan(v.roundTrips * 0.1 + 1e-9);
    // every grid fill was a maker fill at its level price
    const fills = k.journal.fills();
    expect(fills.length).toBe(v.fills);
    for (const f of fills) expect(Number.isInteger(Math.round(f.price * 1e6) / 1e6)).toBe(true);
    // decisions went through the risk engine with the grid's name
    const d = k.journal.sqlite.prepare("select count(*) n from decisions where strategy = 'grid'").get() as { n: number };
    expect(d.n).toBeGreaterThanOrEqual(v.fills);
    // no stop-loss was placed for the grid's inventory (the grid's stop-out is its stop)
    expect([...k.engine.liveOrders.values()].filter((o) => o.purpose !== 'grid')).toEqual([]);
    k.journal.close();
  });

  it('/flatten stops the grid: its orders cancelled, the position closed, no new level order until /grid start', () => {
    const dir = tempDir('skipper-grid-');
    const k = open(join(dir, 'j.db'));
    const candles = saw(300, 95.5, 104.5, 0.4);
    feed(k, candles.slice(0, 150));
    expect(k.engine.portfolio.positions.get(SYM)?.qty).toBeGreaterThan(0); // it holds some inventory
    k.engine.flatten('ada');
    feed(k, candles.slice(150, 200));
    const v = k.grid!.views()[0]!;
    expect(v.status).toBe('cancelled');
    expect(v.reason).toBe('stopped by /flatten (ada)');
    expect(v.held).toBe(0); // the flatten sold what the pairs had bought
    expect([...k.engine.liveOrders.values()].map((o) => o.clientOrderId)).toEqual([]);
    expect(k.engine.portfolio.positions.size).toBe(0);
    const book = k.grid!.books.get(SYM)!;
    expect(book.restart('ada')).toHaveProperty('id');
    feed(k, candles.slice(200, 202));
    expect([...k.engine.liveOrders.values()].filter((o) => o.purpose === 'grid').length).toBeGreaterThan(0);
    k.journal.close();
  });

  it('spot: a buy the free cash left after the resting buys cannot pay waits (no venue refusal), with the reason in the view', () => {
    const dir = tempDir('skipper-grid-');
    const cfg: ConfigInput = {
      ...GRID,
      exchange: { paper: { startingBalance: { USDT: 1000 }, makerFee: 0.001, takerFee: 0.001 } },
      risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxCapitalInUse: 1, riskPerTrade: 0.03 },
      strategy: { name: 'grid', params: { lower: 96, upper: 104, levels: 9, qtyPerLevel: 3 } },
    };
    const k = open(join(dir, 'j.db'), cfg);
    feed(k, saw(3, 95, 105, 0.1));
    const buys = [...k.engine.liveOrders.values()].map((o) => o.price);
    expect(buys.sort()).toEqual([97, 98, 99]); // 3 × ~294 USDT, nearest first; the fourth (96) does not fit in 1 000
    const v = k.grid!.views()[0]!;
    expect(v.refusals).toEqual([
      expect.stringMatching(/^levels 0–1: free cash after the grid's resting buys is 118\.00 USDT, this buy needs 288\.29 USDT$/),
    ]);
    expect(k.journal.recentOrders(100).filter((o) => o.status === 'rejected')).toEqual([]);
    k.journal.close();
  });

  it('perps with allowShort: pairs above the price sell (shorts) and buy back one level down; the pair the price is in waits', () => {
    const dir = tempDir('skipper-grid-');
    const cfg: ConfigInput = {
      ...GRID,
      market: { symbols: [SYM], timeframe: '1m', type: 'perp', allowShort: true, leverage: 2 },
      risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxLeverage: 2 },
      strategy: { name: 'grid', params: { lower: 96, upper: 104, levels: 9, qtyPerLevel: 0.1, stopAbove: 110, stopBelow: 90 } },
    };
    const k = open(join(dir, 'j.db'), cfg);
    feed(k, saw(1, 95, 105, 0.5)); // close 99.5: pair 99–100 waits
    const first = [...k.engine.liveOrders.values()].map((o) => `${o.side} ${o.price}`).sort();
    expect(first).toEqual(['buy 96', 'buy 97', 'buy 98', 'sell 101', 'sell 102', 'sell 103', 'sell 104']);
    // up through 101 and 102, then back: the shorts opened above are bought back one level down
    const up: Candle[] = [];
    let p = 99.5;
    for (const next of [100.5, 101.5, 102.5, 101.5, 100.5, 99.5]) {
      up.push({
        ts: T0 + (up.length + 1) * MIN,
        open: p,
        high: Math.max(p, next) + 0.05,
        low: Math.min(p, next) - 0.05,
        close: next,
        volume: 1000,
      });
      p = next;
    }
    feed(k, up.slice(0, 3));
    expect(k.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'short', qty: 0.2 });
    expect(
      [...k.engine.liveOrders.values()]
        .filter((o) => o.side === 'buy' && o.price! > 99)
        .map((o) => o.price)
        .sort(),
    ).toEqual([100, 101]);
    feed(k, up.slice(3));
    expect(k.engine.portfolio.positions.get(SYM)).toBeUndefined();
    const v = k.grid!.views()[0]!;
    expect(v.roundTrips).toBe(2);
    expect(v.profit).toBeGreaterThan(0.15); // 2 × 0.1 less fees
    k.journal.close();
  });

  it('stop-out below the range cancels the grid and closes the position at market; it stays stopped after a restart', () => {
    const dir = tempDir('skipper-grid-');
    const file = join(dir, 'j.db');
    const cfg: ConfigInput = {
      ...GRID,
      strategy: { name: 'grid', params: { lower: 96, upper: 104, levels: 9, qtyPerLevel: 0.1, stopBelow: 94 } },
    };
    const k = open(file, cfg);
    // down from 100 to 94: buys fill on the way, then the stop (the last candle's low is 93.95)
    const down = saw(20, 90, 110, 0.4).filter((c) => c.close > 93.9);
    expect(k.grid!.views()[0]!.held).toBe(0);
    feed(k, down);
    expect(k.grid!.views()[0]!.held).toBeCloseTo(0.4, 9); // bought at 99, 98, 97, 96
    expect(k.grid!.views()[0]!.status).toBe('stopped');
    expect(k.grid!.views()[0]!.reason).toMatch(/stop-out: BTC\/USDT traded at or below 94/);
    const live = [...k.engine.liveOrders.values()];
    expect(live.filter((o) => o.purpose === 'grid')).toEqual([]);
    // the close went out at market
    expect(live.map((o) => `${o.purpose} ${o.type} ${o.side}`)).toEqual(['exit market sell']);
    const stop = k.alerts.filter((a) => a.severity === 'critical');
    expect(stop.map((a) => a.title)).toEqual(['Grid BTC/USDT stopped out']);
    expect(stop[0]!.message).toMatch(/4 grid orders cancelled; closing the position at market/);
    const last = down.at(-1)!;
    feed(k, [{ ...last, ts: last.ts + MIN, open: last.close, close: last.close }]);
    expect(k.engine.portfolio.positions.size).toBe(0);
    k.journal.close();
    const again = open(file, cfg);
    feed(again, saw(10, 95, 105, 0.4, 100, last.ts + 2 * MIN));
    expect(again.grid!.views()[0]!.status).toBe('stopped');
    expect(again.engine.liveOrders.size).toBe(0);
    again.journal.close();
  });

  it('a restart rebuilds the grid from the journal and the venue: the same level orders, never a second one on a level', () => {
    const dir = tempDir('skipper-grid-');
    const file = join(dir, 'j.db');
    const candles = saw(600, 95.5, 104.5, 0.3);
    const a = open(file);
    feed(a, candles.slice(0, 250));
    const before = new Set(a.engine.liveOrders.keys());
    const ordersBefore = a.journal.count('orders');
    const fillsBefore = a.grid!.views()[0]!.fills;
    expect(before.size).toBeGreaterThan(3);
    a.journal.close(); // (a crash leaves the same file: every intent was committed before it was sent)

    const b = open(file);
    expect(new Set(b.engine.liveOrders.keys())).toEqual(before);
    // nothing new before a candle; the view already has the journal's history
    expect(b.grid!.views()[0]!.fills).toBe(fillsBefore);
    expect(b.journal.count('orders')).toBe(ordersBefore);
    feed(b, candles.slice(250, 251));
    // the first candle after the restart places only where the venue filled a level order
    const still = [...before].filter((id) => !isTerminal(b.journal.getOrder(id)!.status));
    for (const id of still) expect(b.engine.liveOrders.has(id)).toBe(true);
    feed(b, candles.slice(251));
    const v = b.grid!.views()[0]!;
    expect(v.roundTrips).toBeGreaterThan(10);
    // the whole history, both runs: one order per (pair, generation), and every pair's generations in a row
    const ids = (
      b.journal.sqlite.prepare("select client_order_id id from orders where client_order_id like 'gt-g%'").all() as { id: string }[]
    ).map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const gens = new Map<string, number[]>();
    for (const id of ids) {
      const [, pair, gen] = /-(\d+)-(\d+)$/.exec(id)!;
      gens.set(pair!, [...(gens.get(pair!) ?? []), Number(gen)]);
    }
    for (const [, g] of gens) expect(g.sort((x, y) => x - y)).toEqual(g.map((_, i) => i + 1));
    b.journal.close();
  });
});
