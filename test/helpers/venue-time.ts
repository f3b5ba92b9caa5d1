// Time helpers for tests that run the real ccxt against a local fake venue: one clock (wall time +
// an offset the adapter's injected sleep advances) and a real-time wait for asynchronous effects.

import type { Clock } from '../../src/core/clock.ts';

export class TestClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (real time) until `cond` holds; throws after `ms`. */
export async function until(cond: () => boolean, what = 'condition', ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realSleep(5);
  }
}
