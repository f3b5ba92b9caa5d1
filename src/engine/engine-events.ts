// What the engine tells listeners that are built after it (execution algos, the grid): owned by the kernel,
// handed to the engine through its constructor, subscribed to by the listener. No listener: a loop
// over an empty array (the candle hot path).

type CandleDone = (symbol: string) => void;
type StopAlgos = (why: string, cancelChildren: boolean) => void;
type Flattened = (by: string) => void;

export class EngineEvents {
  private readonly candleDoneFns: CandleDone[] = [];
  private readonly stopAlgosFns: StopAlgos[] = [];
  private readonly flattenedFns: Flattened[] = [];

  /** A candle was processed (execution algos run their candle-time schedule). */
  onCandleDone(fn: CandleDone): void {
    this.candleDoneFns.push(fn);
  }

  /** /pause or /flatten: execution algos stop their remaining children. */
  onStopAlgos(fn: StopAlgos): void {
    this.stopAlgosFns.push(fn);
  }

  /** /flatten: every order cancelled and every position closing; strategies that place their own orders (the grid) stop. */
  onFlattened(fn: Flattened): void {
    this.flattenedFns.push(fn);
  }

  candleDone(symbol: string): void {
    for (const fn of this.candleDoneFns) fn(symbol);
  }

  stopAlgos(why: string, cancelChildren: boolean): void {
    for (const fn of this.stopAlgosFns) fn(why, cancelChildren);
  }

  flattened(by: string): void {
    for (const fn of this.flattenedFns) fn(by);
  }
}
