// The bare-loop baseline for issue 14: the sma-cross reference setup (SMA 10/30 on closes, long only,
// all-in market orders filled at the next open, fee on notional) as a plain loop over typed arrays,
// nothing else. Its fills are compared with Skipper's, so the ratio printed beside it compares the
// same work. Integer-cent sums make the SMA comparison exact, as in the backtest contract.
import type { Candle } from '../src/core/types.ts';

export interface BareFill {
  ts: number;
  side: 'buy' | 'sell';
  price: number;
  qty: number;
}

export interface BareColumns {
  ts: Float64Array;
  open: Float64Array;
  close: Float64Array;
}

export function columns(candles: readonly Candle[]): BareColumns {
  const n = candles.length;
  const c = { ts: new Float64Array(n), open: new Float64Array(n), close: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const k = candles[i]!;
    c.ts[i] = k.ts;
    c.open[i] = k.open;
    c.close[i] = k.close;
  }
  return c;
}

/** One pass; the candles must be clean (Skipper's validator accepts every one of them). */
export function bareLoop(c: BareColumns, fast = 10, slow = 30, fee = 0.001, cash0 = 10_000, step = 1e-8, keep = false) {
  const n = c.ts.length;
  const cents = new Float64Array(n);
  for (let i = 0; i < n; i++) cents[i] = Math.round(c.close[i]! * 100);
  const fills: BareFill[] = [];
  let count = 0;
  let cash = cash0;
  let pos = 0;
  let pending = 0; // +1 buy at the next open, −1 sell
  let lastNonZero = 0;
  let sf = 0;
  let ss = 0;
  for (let t = 0; t < n; t++) {
    if (pending !== 0) {
      const px = c.open[t]!;
      if (pending > 0) {
        // floorToStep (src/core/num.ts): a hair above float noise, then rounded to the step's decimals
        const qty = Number((Math.floor(cash / (px * (1 + fee)) / step + 1e-9) * step).toFixed(8));
        if (qty > 0) {
          cash -= qty * px * (1 + fee);
          pos = qty;
          count++;
          if (keep) fills.push({ ts: c.ts[t]!, side: 'buy', price: px, qty });
        }
      } else {
        cash += pos * px * (1 - fee);
        count++;
        if (keep) fills.push({ ts: c.ts[t]!, side: 'sell', price: px, qty: pos });
        pos = 0;
      }
      pending = 0;
    }
    sf += cents[t]!;
    ss += cents[t]!;
    if (t >= fast) sf -= cents[t - fast]!;
    if (t >= slow) ss -= cents[t - slow]!;
    if (t < slow - 1) continue;
    const diff = sf * slow - ss * fast;
    if (diff > 0 && lastNonZero < 0 && pos === 0) pending = 1;
    else if (diff < 0 && lastNonZero > 0 && pos > 0) pending = -1;
    if (diff !== 0) lastNonZero = diff;
  }
  return { fills: count, rows: fills, finalEquity: cash + pos * c.close[n - 1]! };
}
