// Fills of a `fills`-detail journal (backtests, research runs) kept in memory and written to SQLite in
// one batch when something reads them. Profile of `skipper backtest` on the BTC 1m file: the per-fill
// insert (prepared statement into the unique and ts indexes) was the biggest single item of the loop;
// a backtest's in-memory journal is never reopened, so the rows only need to exist when read.
import type { Fill } from '../core/types.ts';
import type { FillRow } from './trading.ts';

export class FillBuffer {
  /** Every fill recorded, in order; ids as SQLite's autoincrement gives them (the table was empty). */
  readonly rows: FillRow[] = [];
  private readonly seen = new Set<string>();
  /** rows[0..written) are in SQLite. */
  private written = 0;

  /** False when this venue trade id was already recorded. */
  add(venue: string, f: Fill, realizedPnl: number, cashDelta: number): boolean {
    const key = `${venue}\u0000${f.tradeId}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.rows.push(fillRow(this.rows.length + 1, venue, f, realizedPnl, cashDelta));
    return true;
  }

  /** The rows not yet in SQLite; they count as written once this returns. */
  takeUnwritten(): FillRow[] {
    const out = this.rows.slice(this.written);
    this.written = this.rows.length;
    return out;
  }
}

/** A fill as the fills table holds it. */
export function fillRow(id: number, venue: string, f: Fill, realizedPnl: number, cashDelta: number): FillRow {
  return {
    id,
    venue,
    tradeId: f.tradeId,
    clientOrderId: f.clientOrderId,
    exchangeOrderId: f.exchangeOrderId ?? null,
    symbol: f.symbol,
    side: f.side,
    // `+ 0`: SQLite hands -0 back as 0; so do these rows
    price: f.price + 0,
    qty: f.qty + 0,
    fee: f.fee + 0,
    feeCurrency: f.feeCurrency,
    liquidity: f.liquidity,
    ts: f.ts,
    realizedPnl: realizedPnl + 0,
    cashDelta: cashDelta + 0,
  };
}
