// The narrow interfaces the engine is built against: what it calls on the journal, the risk engine, a
// candle validator, the approval gate and the reconnect hook. The kernel (src/app/kernel.ts) passes the
// real ones through the constructor; a test can pass anything of these shapes. Picked from the real
// classes so a signature is written once.
import type { Bracket, Signal, OrderPurpose, OrderRequest } from '../core/types.ts';
import type { Journal } from '../journal/journal.ts';
import type { CandleValidator } from '../market/validator.ts';
import type { RiskEngine } from '../risk/engine.ts';
import type { RiskDecision } from '../risk/types.ts';

/** The journal methods the engine calls (orders, fills, positions, decisions, equity, its runtime_state keys). */
export type TradingJournal = Pick<
  Journal,
  | 'tx'
  | 'detail'
  | 'inTransaction'
  | 'cashFlows'
  | 'openPositions'
  | 'liveOrders'
  | 'getOrder'
  | 'hasFill'
  | 'nextClientOrderId'
  | 'insertOrder'
  | 'updateOrder'
  | 'noteCancelAsked'
  | 'cancelAsked'
  | 'openPosition'
  | 'updatePosition'
  | 'closePosition'
  | 'averageExitPrice'
  | 'recordDecision'
  | 'updateDecision'
  | 'recordFill'
  | 'recordFunding'
  | 'recordEquity'
  | 'recordDataEvent'
  | 'getState'
  | 'setState'
  | 'setNumber'
  | 'held'
>;

/** The risk gate: verdicts and the bookkeeping the candle loop and venue events feed it. */
export type RiskGate = Pick<
  RiskEngine,
  'limits' | 'evaluate' | 'onBar' | 'onEquity' | 'recordEntry' | 'onTradeClosed' | 'onOrderError' | 'onOrderOk'
>;

/** The risk controls the engine's controls, views and kill switch use. */
export type RiskControls = Pick<
  RiskEngine,
  | 'state'
  | 'blockedReason'
  | 'pause'
  | 'resume'
  | 'pauseSymbol'
  | 'resumeSymbol'
  | 'tripBreaker'
  | 'haltForFault'
  | 'setLimit'
  | 'volatility'
  | 'haltActive'
>;

export type EngineRisk = RiskGate & RiskControls;

/** A symbol's candle validator. */
export type Validator = Pick<CandleValidator, 'check' | 'timeframe'>;

/** Where orders go when the trader wants to approve them first (chat-ops plugs in here). */
export interface ApprovalGate {
  /** Does an order (or a grid: what all its buys commit) of this notional need a human decision? */
  required(intent: { notional: number }): boolean;
  /** Ask for one. The gate calls `engine.resolveProposal` when it is decided or expires. */
  propose(p: Proposal): void;
}

export interface Proposal {
  decisionId: number;
  signal: Signal;
  request: OrderRequest;
  decision: RiskDecision;
  purpose: OrderPurpose;
  notional: number;
  bracket: Bracket;
  /** The open trade an exit or add acts on ("T12"). */
  trade?: string;
  /** The market's price and quantity steps: the card shows its numbers as the rest of the bot does (forMarket). */
  market?: { priceStep: number; qtyStep: number };
}

/**
 * Where large strategy entries are split into TWAP/iceberg children (src/execution, when
 * `execution.signals` is on). The engine still journals the decision and counts the entry.
 */
export interface EntrySplitter {
  /**
   * Take this approved entry as a parent order: its id, or undefined (the engine sends it whole). `bracket`:
   * the stop-loss / take-profit the entry promised (the signal's, or the defaults at its price), which the
   * position its children build gets, as the whole entry's would.
   */
  split(entry: { signal: Signal; request: OrderRequest; notional: number; decisionId: number; bracket: Bracket }): string | undefined;
  /**
   * What the active parents that open or add to a position have still to send (not yet placed as children),
   * `except` one parent (whose own child is being judged): the risk engine counts it like working entry orders.
   */
  unsent(except?: string): Array<{ symbol: string; qty: number }>;
  /** The parent still building this symbol's position from a strategy entry, if any. */
  building(symbol: string): string | undefined;
  /** The strategy exits the symbol: its entry parents stop, and their working children are cancelled. */
  stopEntries(symbol: string, why: string): void;
}

/** Called when the venue connection comes back (the bot reconciles then). */
export type ReconnectHook = (detail: string) => void;
