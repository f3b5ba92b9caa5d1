// Totals over a group of alerts (repeats in a coalescing window, or what the storm guard held
// back), computed from their figures, never parsed from their text.
import type { Alert, AlertFigures } from '../core/alerts.ts';
import { duration, price, qty, signedMoney, money } from '../core/format.ts';

const fmtQty = (x: number, unit?: string): string => `${qty(x)}${unit ? ` ${unit}` : ''}`;

/** One figure summed over a group; `mixed` once two alerts disagree on its unit. */
class Sum {
  total = 0;
  n = 0;
  unit: string | undefined;
  mixed = false;
  add(x: number | undefined, unit: string | undefined): void {
    if (x === undefined || !Number.isFinite(x)) return;
    if (this.n > 0 && unit !== this.unit) this.mixed = true;
    this.unit = unit;
    this.total += x;
    this.n++;
  }
  merge(o: Sum): void {
    if (o.n === 0) return;
    if (this.n > 0 && o.unit !== this.unit) this.mixed = true;
    this.unit = o.unit;
    this.total += o.total;
    this.n += o.n;
    this.mixed ||= o.mixed;
  }
}

export class AlertAggregate {
  count = 0;
  firstTs = Infinity;
  lastTs = -Infinity;
  last: Alert | undefined;
  private readonly qty = new Sum();
  private readonly pnl = new Sum();
  private readonly fee = new Sum();
  private priceMin = Infinity;
  private priceMax = -Infinity;

  add(a: Alert): this {
    this.count++;
    this.firstTs = Math.min(this.firstTs, a.ts);
    if (a.ts >= this.lastTs) {
      this.lastTs = a.ts;
      this.last = a;
    }
    const f: AlertFigures = a.figures ?? {};
    this.qty.add(f.qty, f.unit);
    this.pnl.add(f.pnl, f.ccy);
    this.fee.add(f.fee, f.ccy);
    if (f.price !== undefined && Number.isFinite(f.price)) {
      this.priceMin = Math.min(this.priceMin, f.price);
      this.priceMax = Math.max(this.priceMax, f.price);
    }
    return this;
  }

  /** Fold another group in (a coalesced summary that the storm guard then held back). */
  merge(o: AlertAggregate): this {
    this.count += o.count;
    this.firstTs = Math.min(this.firstTs, o.firstTs);
    if (o.lastTs >= this.lastTs) {
      this.lastTs = o.lastTs;
      this.last = o.last;
    }
    this.qty.merge(o.qty);
    this.pnl.merge(o.pnl);
    this.fee.merge(o.fee);
    this.priceMin = Math.min(this.priceMin, o.priceMin);
    this.priceMax = Math.max(this.priceMax, o.priceMax);
    return this;
  }

  get hasFigures(): boolean {
    return this.qty.n + this.pnl.n + this.fee.n > 0 || Number.isFinite(this.priceMin);
  }

  /** "total size 0.02 BTC, price 105,100.5–106,275.78, net PnL -201.92 USDT, fees 1.20 USDT" (what is known). */
  figures(): string {
    const parts: string[] = [];
    if (this.qty.n && !this.qty.mixed) parts.push(`total size ${fmtQty(this.qty.total, this.qty.unit)}`);
    if (Number.isFinite(this.priceMin)) {
      parts.push(
        this.priceMin === this.priceMax ? `price ${price(this.priceMin)}` : `price ${price(this.priceMin)}–${price(this.priceMax)}`,
      );
    }
    if (this.pnl.n && !this.pnl.mixed) parts.push(`total net PnL ${signedMoney(this.pnl.total, this.pnl.unit)}`);
    if (this.fee.n && !this.fee.mixed) parts.push(`fees ${money(this.fee.total, this.fee.unit)}`);
    return parts.join(', ');
  }

  /** ": <what the group adds up to>", or without figures "; the last: <its message>". */
  describe(): string {
    if (this.hasFigures) return `: ${this.figures()}`;
    return this.last ? `; the last: ${this.last.message}` : '';
  }

  /** Time from the first to the last alert of the group. */
  span(): string {
    return this.count > 1 ? duration(Math.max(0, this.lastTs - this.firstTs)) : '0s';
  }

  /** Figures for the journal row of a summary. */
  totals(): Record<string, number> {
    const t: Record<string, number> = { count: this.count };
    if (this.qty.n && !this.qty.mixed) t.qty = this.qty.total;
    if (this.pnl.n && !this.pnl.mixed) t.pnl = this.pnl.total;
    if (this.fee.n && !this.fee.mixed) t.fee = this.fee.total;
    if (Number.isFinite(this.priceMin)) {
      t.priceMin = this.priceMin;
      t.priceMax = this.priceMax;
    }
    return t;
  }
}
