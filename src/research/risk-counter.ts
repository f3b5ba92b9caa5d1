import { RiskEngine } from '../risk/engine.ts';
import type { RiskContext, RiskDecision, RiskEvent, RiskIntent } from '../risk/types.ts';

export interface RiskEventRow {
  ts: number;
  kind: RiskEvent['kind'];
  message: string;
}

/** The config's risk engine, counting what a research report shows: rejections by rule, breaker trips, halts. */
export class CountingRisk extends RiskEngine {
  readonly rejections: Record<string, number> = {};
  readonly events: RiskEventRow[] = [];
  breakerTrips = 0;
  halts = 0;

  override evaluate(intent: RiskIntent, ctx: RiskContext): RiskDecision {
    const d = super.evaluate(intent, ctx);
    if (d.action === 'reject') this.rejections[d.rule] = (this.rejections[d.rule] ?? 0) + 1;
    return d;
  }

  override onEquity(ts: number, equity: number): RiskEvent | null {
    return this.note(ts, super.onEquity(ts, equity));
  }

  override onTradeClosed(pnl: number, ts: number, symbol?: string): RiskEvent | null {
    return this.note(ts, super.onTradeClosed(pnl, ts, symbol));
  }

  override onOrderError(reason: string, ts: number): RiskEvent | null {
    return this.note(ts, super.onOrderError(reason, ts));
  }

  private note(ts: number, ev: RiskEvent | null): RiskEvent | null {
    if (ev === null) return ev;
    if (ev.kind === 'breaker') this.breakerTrips++;
    else if (ev.kind === 'halt') this.halts++;
    this.events.push({ ts, kind: ev.kind, message: ev.message });
    return ev;
  }
}
