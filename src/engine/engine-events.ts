// What the engine tells listeners that are built after it (execution algos, the grid): owned by the kernel,
// handed to the engine through its constructor, subscribed to by the listener. No listener: a loop
// over an empty array (the candle hot path).

import type { Order } from '../core/types.ts';

type CandleDone = (symbol: string) => void;
type OrderFilled = (order: Order) => void;
/** Which parents stop: all (/flatten), or those that open or add (/pause), optionally of one symbol. */
export interface AlgoStop {
  cancelChildren: boolean;
  entriesOnly: boolean;
  symbol?: string;
}
type StopAlgos = (why: string, which: AlgoStop) => void;
type Flattened = (by: string) => void;

export class EngineEvents {
  private readonly candleDoneFns: CandleDone[] = [];
  private readonly stopAlgosFns: StopAlgos[] = [];
  private readonly flattenedFns: Flattened[] = [];
  private readonly orderFilledFns: OrderFilled[] = [];

  /** A candle was processed (execution algos run their candle-time schedule). */
  onCandleDone(fn: CandleDone): void {
    this.candleDoneFns.push(fn);
  }

  /** /pause (entries) or /flatten (all): execution algos stop their remaining children. */
  onStopAlgos(fn: StopAlgos): void {
    this.stopAlgosFns.push(fn);
  }

  /** /flatten: every order cancelled and every position closing; strategies that place their own orders (the grid) stop. */
  onFlattened(fn: Flattened): void {
    this.flattenedFns.push(fn);
  }

  /**
   * An order filled outside a candle (a live venue's update between two closes; its fills are booked
   * first): strategies that place their own orders (the grid) answer it now, not at the next close.
   */
  onOrderFilled(fn: OrderFilled): void {
    this.orderFilledFns.push(fn);
  }

  candleDone(symbol: string): void {
    for (const fn of this.candleDoneFns) fn(symbol);
  }

  stopAlgos(why: string, which: AlgoStop): void {
    for (const fn of this.stopAlgosFns) fn(why, which);
  }

  flattened(by: string): void {
    for (const fn of this.flattenedFns) fn(by);
  }

  orderFilled(order: Order): void {
    for (const fn of this.orderFilledFns) fn(order);
  }
}
