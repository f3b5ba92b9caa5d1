// When a model version's live hit rate crosses below its floor. One alert per crossing: it re-arms only once
// the rate is back a margin above the floor, so a rate hovering at the floor (a fast replay scores thousands
// of predictions a second) does not alert on every scored prediction.
export const FLOOR_REARM_MARGIN = 0.02;

export class FloorWatch {
  private readonly below = new Set<string>();

  constructor(private readonly margin = FLOOR_REARM_MARGIN) {}

  /** True when `key` has just fallen below `floor` (alert now); false while it stays below or is above. */
  crossedBelow(key: string, rate: number, floor: number): boolean {
    if (rate >= floor) {
      if (rate >= floor + this.margin) this.below.delete(key);
      return false;
    }
    if (this.below.has(key)) return false;
    this.below.add(key);
    return true;
  }
}
