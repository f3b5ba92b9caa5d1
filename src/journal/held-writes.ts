// Runtime-state keys that a fast replay writes many times per commit group but that are read back
// only at start-up (the order and paper-venue counters, the risk state): inside a group they are held
// and the last value of each is written once, at the group's end, in the group's transaction. A crash
// rolls the whole group back either way; a group that throws drops what it held.
// Replay profile: these writes (setState, JSON) were ~5 % of the main thread, once per order or fill.
export class HeldWrites {
  private depth = 0;
  private readonly held = new Map<string, () => void>();

  /** Run `write` now, or, inside a group, at its end (the last one per `key` wins). */
  write(key: string, write: () => void): void {
    if (this.depth === 0) write();
    else this.held.set(key, write);
  }

  /** Run `fn` (inside the caller's transaction) with the writes held, then run the last of each. */
  group(fn: () => void): void {
    this.depth++;
    let ok = false;
    try {
      fn();
      ok = true;
    } finally {
      if (--this.depth === 0) {
        const writes = [...this.held.values()];
        this.held.clear();
        if (ok) for (const w of writes) w();
      }
    }
  }
}
