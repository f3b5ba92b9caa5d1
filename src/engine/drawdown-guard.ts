// The total drawdown kill switch: equity measured from its peak (beside the daily limit). A breach
// trips the risk engine's breaker with a reason only an admin's /resume may clear, and with
// `onMaxDrawdown: flatten` closes every position too. The peak is journaled (survives restarts).
import type { AlertInput } from '../core/alerts.ts';
import { percent } from '../core/format.ts';
import { STATE } from '../journal/state-keys.ts';
import type { EngineRisk, TradingJournal } from './ports.ts';

/** Breaker reasons that start with this are the kill switch's (resume.ts asks for an admin). */
export const KILL_SWITCH = 'total drawdown kill switch';

interface PeakState {
  peak: number;
  /** The switch tripped; once the breaker is cleared the peak restarts from the current equity. */
  tripped: boolean;
}

export interface DrawdownHost {
  readonly journal: TradingJournal;
  readonly risk: EngineRisk;
  onAlert(alert: AlertInput): void;
  flatten(by: string): unknown;
}

export const isKillSwitch = (breakerReason: string | undefined): boolean => breakerReason?.startsWith(KILL_SWITCH) === true;

export class DrawdownGuard {
  private st: PeakState | undefined;

  constructor(
    private readonly host: DrawdownHost,
    /** Durable runs journal the peak; a backtest keeps it in memory. */
    private readonly persist: boolean,
  ) {}

  onEquity(ts: number, equity: number): void {
    const h = this.host;
    const limit = h.risk.limits.maxDrawdown;
    if (!(limit > 0) || !(equity > 0)) return;
    const st = (this.st ??= this.load());
    const rs = h.risk.state();
    if (st.tripped && !rs.breakerTripped) {
      st.tripped = false;
      st.peak = equity; // re-armed by /resume: measured afresh from here
      this.save(ts);
    }
    if (equity > st.peak) {
      st.peak = equity;
      this.save(ts);
      return;
    }
    const dd = 1 - equity / st.peak;
    if (st.tripped || dd < limit) return;
    st.tripped = true;
    this.save(ts);
    const flatten = h.risk.limits.onMaxDrawdown === 'flatten';
    const reason = `${KILL_SWITCH}: equity ${equity.toFixed(2)} is ${percent(dd)} below its peak ${st.peak.toFixed(2)} (limit ${percent(limit)})`;
    h.risk.tripBreaker(reason, ts); // over any other breaker reason: only an admin clears this one
    h.onAlert({
      type: 'circuit_breaker',
      severity: 'critical',
      title: flatten ? 'KILL SWITCH: entries halted, closing every position' : 'KILL SWITCH: entries halted',
      message: `${reason}. ${flatten ? 'Every position is being closed at market. ' : 'Open positions keep their stops. '}Only an admin's confirmed /resume re-arms trading.`,
      key: 'kill-switch',
    });
    if (flatten) h.flatten(KILL_SWITCH);
  }

  private load(): PeakState {
    const v = this.persist ? (STATE.equityPeak.read(this.host.journal) as Partial<PeakState> | null) : null;
    return { peak: typeof v?.peak === 'number' && Number.isFinite(v.peak) ? v.peak : 0, tripped: v?.tripped === true };
  }

  private save(ts: number): void {
    if (this.persist && this.st) STATE.equityPeak.write(this.host.journal, this.st, ts);
  }
}
