// Every runtime_state key the bot keeps, with the shape of its value and its one reader and writer.
// Nothing else reads or writes runtime_state (test/architecture.test.ts checks it): a key's shape is
// defined here once, whoever uses it.
import type { ReplayEnd } from '../core/clock.ts';
import type { ApprovalMode, MessageRef } from '../core/types.ts';
import type { RiskState } from '../risk/types.ts';

/** The journal's raw runtime_state access (JournalDb). */
export interface StateStore {
  getState<T>(key: string, fallback: T): T;
  setState(key: string, value: unknown, ts: number): void;
}

/** One runtime_state key: its value's shape T and the value an empty journal reads. */
export class StateKey<T> {
  constructor(
    readonly key: string,
    private readonly fallback: T,
  ) {}

  read(store: Pick<StateStore, 'getState'>): T {
    return store.getState<T>(this.key, this.fallback);
  }

  write(store: Pick<StateStore, 'setState'>, value: T, ts: number): void {
    store.setState(this.key, value, ts);
  }
}

/** A number key written once per candle without allocating (JournalDb.setNumber). */
export class NumberKey extends StateKey<number> {
  writeNumber(store: { setNumber(key: string, value: number, ts: number): void }, value: number, ts: number): void {
    store.setNumber(this.key, value, ts);
  }
}

/** The account the journal books: fixed at the first start, so a later config change can't rewrite history. */
export interface AccountState {
  /** Quote cash the account started with (paper: the configured balance; live: the venue's at the first connect). */
  startingCash: number;
  /** The account's quote currency (reports' money). */
  quote: string;
  /** Wall time of the first start. */
  createdAt: number;
  /** Learnt from the venue's balance (live); absent for paper accounts. */
  fromVenue?: boolean;
}

/** Risk limits changed from chat (`/risk set`): they win over the config's; `null` is "off". */
export type SavedRiskLimits = Record<string, string | number | null>;

/** The last config reload from chat (who, when, which keys). */
export interface LastReload {
  ts: number;
  by: string;
  file: string;
  changed: string[];
}

/** When trades wait for approval, as last set from chat (`/approvals`). */
export interface ApprovalsState {
  mode: ApprovalMode;
  aboveNotional: number;
}

/** What the journal remembers per report kind (key `report:<kind>`). */
export interface SentState {
  /** End of the last period reported (a scheduled time on the trading clock, ms). */
  periodEnd: number;
  /** Wall time it was sent (or the baseline set at the first start). */
  at: number;
  /** True for the baseline recorded at the first start (nothing was sent). */
  baseline?: boolean;
}

/** Balances the account held that are not the bot's (spot base coins, and anything deposited later). */
export interface ReconcileBaseline {
  assets: Record<string, number>;
}

/** An open run of unacknowledged critical alerts (sleep mode): it survives a restart. */
export interface EscalationEpisode {
  nonce: string;
  since: number;
  deadline: number;
  alerts: Array<{ ts: number; title: string }>;
  count: number;
  messages: MessageRef[];
}

/** The running bot's heartbeat row: rewritten by its watchdog, read by `skipper health` (another process). */
export interface HeartbeatRow {
  /** Wall time of this write (ms). */
  ts: number;
  pid: number;
  host: string;
  startedAt: number;
  /** The watchdog's verdict at `ts`; `problems` says why not. */
  healthy: boolean;
  problems: string[];
  /** Wall time the trading loop last processed a candle (or started). */
  lastProgressAt: number;
  candles: number;
  feeds: Array<{ symbol: string; status: string }>;
  /** Set by a clean stop. */
  stoppedAt?: number;
}

/** The paper venue's id counters (P<order>, PT<trade>). */
export interface PaperSeq {
  order: number;
  trade: number;
}

export const STATE = {
  account: new StateKey<AccountState | null>('account', null),
  /** Pause, halt, breaker and the counters behind them (RiskEngine.state()). */
  risk: new StateKey<RiskState | null>('risk', null),
  riskLimits: new StateKey<SavedRiskLimits>('risk_limits', {}),
  configReload: new StateKey<LastReload | null>('config_reload', null),
  /** Per-trade overrides (/trail, max hold); shaped and checked by src/engine/trades.ts. */
  tradeSettings: (posId: number): StateKey<unknown> => new StateKey(`trade:${posId}`, {}),
  /** A trade's adds (pyramiding); shaped and checked by src/engine/trade-adds.ts. */
  tradeAdds: (posId: number): StateKey<unknown> => new StateKey(`trade_adds:${posId}`, null),
  /** The kill switch's equity peak and whether it tripped (src/engine/drawdown-guard.ts). */
  equityPeak: new StateKey<{ peak: number; tripped: boolean } | null>('equity_peak', null),
  /** Models taken out of the ensemble from chat (/models disable); checked by src/models/state.ts. */
  modelsDisabled: new StateKey<unknown>('models_disabled', []),
  /** Where the clock of a finished replay took over (so a restart continues from there). */
  replayEnd: new StateKey<ReplayEnd | null>('replay_end', null),
  /** Cash differences adopted from the venue (deposits, withdrawals). */
  cashAdjustments: new StateKey<number>('cash_adjustments', 0),
  /** The last candle the engine processed per symbol: a restart resumes after it. */
  lastCandle: (symbol: string): NumberKey => new NumberKey(`last_candle:${symbol}`, -Infinity),
  /** The client order id sequence: written before the order row, so ids are never reused. */
  orderSeq: new StateKey<number>('order_seq', 0),
  approvals: (fallback: ApprovalsState): StateKey<ApprovalsState> => new StateKey('approvals', fallback),
  /** Muted alert types, until when (wall ms). */
  alertMutes: new StateKey<Record<string, number>>('alert_mutes', {}),
  reportSent: (kind: string): StateKey<SentState | null> => new StateKey(`report:${kind}`, null),
  reconcileBaseline: new StateKey<ReconcileBaseline | null>('reconcile_baseline', null),
  /** Venue trades of orders this bot did not place, already reported (`venue:tradeId`, newest last, bounded). */
  externalTrades: new StateKey<string[]>('external_trades', []),
  escalation: new StateKey<EscalationEpisode | null>('escalation', null),
  heartbeat: new StateKey<HeartbeatRow | null>('heartbeat', null),
  paperSeq: new StateKey<PaperSeq | null>('paper_seq', null),
  /** The grid strategy's grid per symbol (id, status); shaped and checked by src/grid/state.ts. */
  grid: (symbol: string): StateKey<unknown> => new StateKey(`grid:${symbol}`, null),
} as const;
