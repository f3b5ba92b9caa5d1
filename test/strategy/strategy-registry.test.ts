import { describe, expect, it } from 'vitest';
import { STRATEGIES, createStrategy, listStrategies } from '../../src/strategy/registry.ts';

const NAMES = ['bollinger', 'ema-cross', 'macd', 'rsi-reversion', 'sma-cross'];

describe('registry', () => {
  it('lists the five built-ins with descriptions and defaults', () => {
    const list = listStrategies();
    expect(list.map((s) => s.name)).toEqual(NAMES);
    expect(Object.keys(STRATEGIES).sort()).toEqual(NAMES);
    for (const s of list) {
      expect(s.description.length).toBeGreaterThan(10);
      expect(s.defaults).toMatchObject({ atrStop: 0, atrPeriod: 14, timeframeMs: 0 });
    }
    expect(list.find((s) => s.name === 'sma-cross')!.defaults).toMatchObject({ fast: 10, slow: 30 });
    expect(list.find((s) => s.name === 'ema-cross')!.defaults).toMatchObject({ fast: 12, slow: 26 });
    expect(list.find((s) => s.name === 'rsi-reversion')!.defaults).toMatchObject({ period: 14, oversold: 30, overbought: 70 });
    expect(list.find((s) => s.name === 'bollinger')!.defaults).toMatchObject({ period: 20, k: 2 });
    expect(list.find((s) => s.name === 'macd')!.defaults).toMatchObject({ fast: 12, slow: 26, signal: 9 });
  });

  it('listStrategies returns copies: defaults cannot be changed through it', () => {
    listStrategies()[0]!.defaults.period = 999;
    expect(STRATEGIES.bollinger!.defaults.period).toBe(20);
    expect(Object.isFrozen(STRATEGIES['sma-cross']!.defaults)).toBe(true);
  });

  it('creates every built-in with defaults', () => {
    for (const name of NAMES) {
      const s = createStrategy(name, 'ETHUSDT');
      expect(s.name).toBe(name);
      expect(s.warmup).toBeGreaterThan(0);
    }
  });

  it('unknown strategy: error lists the available names', () => {
    expect(() => createStrategy('sma-crosss', 'X')).toThrow(
      'unknown strategy "sma-crosss"; available: bollinger, ema-cross, macd, rsi-reversion, sma-cross',
    );
    expect(() => createStrategy('toString', 'X')).toThrow(/unknown strategy/);
  });
});

describe('parameter validation', () => {
  it('unknown parameter: error lists the accepted ones', () => {
    expect(() => createStrategy('sma-cross', 'X', { fats: 5 })).toThrow(
      'sma-cross: unknown parameter "fats"; accepted parameters: fast, slow, atrStop, atrPeriod, timeframeMs',
    );
    expect(() => createStrategy('rsi-reversion', 'X', { k: 2 })).toThrow(/accepted parameters: period, oversold, overbought/);
  });

  it.each([
    ['sma-cross', { fast: 30, slow: 30 }, 'sma-cross: fast (30) must be less than slow (30)'],
    ['sma-cross', { fast: 50 }, 'sma-cross: fast (50) must be less than slow (30)'],
    ['ema-cross', { fast: 26, slow: 12 }, 'ema-cross: fast (26) must be less than slow (12)'],
    ['macd', { fast: 30 }, 'macd: fast (30) must be less than slow (26)'],
    ['rsi-reversion', { oversold: 70, overbought: 30 }, 'rsi-reversion: oversold (70) must be less than overbought (30)'],
    ['rsi-reversion', { overbought: 120 }, 'rsi-reversion: overbought must be between 0 and 100, got 120'],
    ['bollinger', { k: 0 }, 'bollinger: k must be > 0, got 0'],
    ['bollinger', { period: 1 }, 'bollinger: period must be an integer ≥ 2, got 1'],
    ['sma-cross', { fast: 2.5 }, 'sma-cross: fast must be an integer ≥ 1, got 2.5'],
    ['sma-cross', { slow: Number.NaN }, 'sma-cross: parameter "slow" must be a finite number, got NaN'],
    ['macd', { signal: 0 }, 'macd: signal must be an integer ≥ 1, got 0'],
    ['ema-cross', { atrStop: -1 }, 'ema-cross: atrStop must be ≥ 0 (in ATRs, 0 = no stop), got -1'],
    ['ema-cross', { atrPeriod: 0 }, 'ema-cross: atrPeriod must be an integer ≥ 1, got 0'],
    ['sma-cross', { timeframeMs: -60_000 }, 'sma-cross: timeframeMs must be an integer ≥ 0, got -60000'],
  ])('%s %j → %s', (name, params, message) => {
    expect(() => createStrategy(name, 'X', params)).toThrow(message);
  });

  it('a string smuggled in as a number is refused', () => {
    expect(() => createStrategy('sma-cross', 'X', { fast: '5' as unknown as number })).toThrow(/must be a finite number/);
  });
});
