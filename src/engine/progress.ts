// The engine's progress (per symbol, the last candle processed): written with each candle's
// transaction, or, while a group of candles commits as one transaction (a max-speed replay), once at
// the group's end. A crash rolls the whole group back, progress included, so a restart resumes from
// the same candle either way.
import type { NumberKey } from '../journal/state-keys.ts';

interface NumberStore {
  setNumber(key: string, value: number, ts: number): void;
}

/** A symbol's latest progress, held while a group is open (one object per symbol, reused). */
interface Held {
  key: NumberKey;
  value: number;
  ts: number;
  dirty: boolean;
}

export class ProgressWriter {
  private grouped = false;
  private readonly held = new Map<NumberKey, Held>();

  constructor(private readonly store: NumberStore) {}

  write(key: NumberKey, value: number, ts: number): void {
    if (!this.grouped) return key.writeNumber(this.store, value, ts);
    let h = this.held.get(key);
    if (h === undefined) this.held.set(key, (h = { key, value, ts, dirty: true }));
    h.value = value;
    h.ts = ts;
    h.dirty = true;
  }

  /** Run `fn` (many candles, inside the caller's transaction) with progress held, then write each symbol's last. */
  group(fn: () => void): void {
    if (this.grouped) return fn();
    this.grouped = true;
    let ok = false;
    try {
      fn();
      ok = true;
    } finally {
      this.grouped = false;
      for (const h of this.held.values()) {
        if (h.dirty && ok) h.key.writeNumber(this.store, h.value, h.ts);
        h.dirty = false; // a failed group rolls back: what it held is dropped with it
      }
    }
  }
}
