import type { Candle, PositionSide, Signal } from '../core/types.ts';

/** What a strategy may know about the account when it decides: its own position, nothing more. */
export interface StrategyContext {
  readonly symbol: string;
  /** Current position side, or null when flat. */
  readonly position: PositionSide | null;
  /** True when an entry/exit order for this symbol is still working. */
  readonly pending: boolean;
  /** Shorts allowed (perps with `allowShort`). */
  readonly allowShort: boolean;
  /** Unrealized PnL of the position as a fraction of its cost, when the caller knows it (model policies read it). */
  readonly unrealizedPnlPct?: number;
}

/**
 * Called once per closed, validated candle. Must be O(1) per candle (streaming indicators) and must
 * not allocate on the common no-signal path. Returns null, or one signal: `enter_*` means "be in
 * this direction" (the engine closes an opposite position first), `exit_*` means "be flat".
 */
export interface Strategy {
  readonly name: string;
  /** Candles needed before the first signal can appear. */
  readonly warmup: number;
  onCandle(candle: Candle, ctx: StrategyContext): Signal | null;
  /**
   * Optional async work for a candle (model inference), awaited by the caller before `onCandle` of the same
   * candle. Must not change what the strategy has committed: a candle the validator then rejects never reaches
   * `onCandle`, and the next `prepare` starts from the last committed candle. Strategies without it stay sync.
   */
  prepare?(candle: Candle, ctx: StrategyContext): Promise<void>;
}

/** Candles a symbol needs before its first decision: its strategy's warm-up, and the risk engine's volatility window (one candle more: returns). */
export const historyNeeded = (strategy: Pick<Strategy, 'warmup'> | undefined, volatilityWindow: number): number =>
  Math.max(strategy?.warmup ?? 0, volatilityWindow) + 1;

export type StrategyParams = Record<string, number>;

export interface StrategyFactory {
  readonly name: string;
  readonly description: string;
  /** Parameter names with defaults; unknown parameters are refused. */
  readonly defaults: StrategyParams;
  create(symbol: string, params: StrategyParams): Strategy;
}
