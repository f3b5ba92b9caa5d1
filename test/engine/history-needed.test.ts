// What a live start fetches before deciding: at least what the strategy and the volatility window need,
// whatever data.warmup says (a model with long features would otherwise stay silent for days on 1h).
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

const needed = (over: ConfigInput): number => {
  const cfg = parseConfig({ botId: 'sk', market: { symbols: ['BTC/USDT'], timeframe: '1h' }, ...over });
  const journal = new Journal({ path: ':memory:' });
  try {
    return buildEngine(cfg, { mode: 'paper', clock: new SimClock(0), journal }).engine.historyNeeded('BTC/USDT');
  } finally {
    journal.close();
  }
};

describe('Engine.historyNeeded', () => {
  it("is the strategy's warm-up or the volatility window, whichever is longer, plus one", () => {
    expect(needed({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 400 } }, risk: { volatilityWindow: 50 } })).toBe(401);
    expect(needed({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 30 } }, risk: { volatilityWindow: 500 } })).toBe(501);
  });
});
