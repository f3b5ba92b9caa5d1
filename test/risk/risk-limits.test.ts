import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { LIMIT_KEYS, RISK_LIMITS, allowedWords, showLimit } from '../../src/risk/limits.ts';
import { DEFAULT_LIMITS, type RiskLimits } from '../../src/risk/types.ts';
import { chatUser, startBot, type Harness } from '../helpers/harness.ts';

// One table of limits (src/risk/limits.ts) drives the config file's `risk` section and `/risk set`:
// walk every limit's bounds through both and check they agree.

/** What the config file makes of `risk: { key: value }`: the value, or the problem. */
function viaConfig(key: keyof RiskLimits, value: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: parseConfig({ risk: { [key]: value } }).risk[key] };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.problems.join('\n') };
    throw e;
  }
}

/** What `/risk set key value` makes of it on a fresh engine. */
function viaSetLimit(key: keyof RiskLimits, value: string | number | null) {
  const r = new RiskEngine({ ...DEFAULT_LIMITS }).setLimit(key, value ?? 'off');
  return r.ok ? { ok: true as const, value: r.new } : { ok: false as const, error: r.error };
}

/** Values on and around each limit's bounds, with whether the table allows them. */
function boundaryCases(key: keyof RiskLimits): Array<[unknown, boolean]> {
  const def = RISK_LIMITS[key];
  if (def.kind === 'enum') return [...def.values.map((v): [unknown, boolean] => [v, true]), ['yolo', false], [3, false]];
  const eps = (x: number) => Math.max(Math.abs(x) * 1e-9, 1e-12);
  const cases: Array<[unknown, boolean]> = [
    [def.min, !def.minExclusive],
    [def.min - eps(def.min), false],
    [def.max, true],
    [def.max + eps(def.max), false],
    [(def.min + def.max) / 2, !def.int || Number.isInteger((def.min + def.max) / 2)],
    ['off', !!def.nullable || !!def.zeroOff], // typed text: null where the limit can be off, 0 where 0 is off
    [Infinity, false],
    [NaN, false],
  ];
  if (def.int) cases.push([def.min + 0.5, false]);
  if (def.minExclusive) cases.push([def.min + eps(def.min), true]);
  return cases;
}

describe('risk limits: one table for the config file and /risk set', () => {
  it('every limit has a default inside its own bounds', () => {
    for (const key of LIMIT_KEYS) expect(viaConfig(key, DEFAULT_LIMITS[key]), key).toEqual({ ok: true, value: DEFAULT_LIMITS[key] });
    expect(Object.keys(RISK_LIMITS).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  it('walks every bound of every limit through both: same verdict, same value', () => {
    for (const key of LIMIT_KEYS) {
      for (const [value, allowed] of boundaryCases(key)) {
        const cfg = viaConfig(key, value);
        const chat = viaSetLimit(key, value as string | number | null);
        const label = `${key} = ${String(value)}`;
        expect(cfg.ok, `${label} in the config file: ${cfg.ok ? '' : cfg.error}`).toBe(allowed);
        expect(chat.ok, `${label} by /risk set: ${chat.ok ? '' : chat.error}`).toBe(allowed);
        if (cfg.ok && chat.ok) expect(chat.value, label).toEqual(cfg.value);
        // The config file names the key and says what is allowed, in the table's words.
        if (!cfg.ok) expect(cfg.error, label).toContain(`risk.${key}: `);
        if (!cfg.ok) expect(cfg.error, label).toContain(allowedWords(key));
      }
    }
  });

  it('agrees with itself on any number, typed as a number or as chat text', () => {
    const keys = LIMIT_KEYS.filter((k) => RISK_LIMITS[k].kind === 'number');
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.double(), (key, x) => {
        const cfg = viaConfig(key, x);
        const chat = viaSetLimit(key, x);
        expect(chat.ok).toBe(cfg.ok);
        if (Number.isFinite(x)) {
          // "0.025", "2.5%" and "2.5e-2" are the same value in chat and in the file.
          const text = String(x);
          expect(viaSetLimit(key, text).ok).toBe(cfg.ok);
          expect(viaConfig(key, text).ok).toBe(cfg.ok);
          if (RISK_LIMITS[key].kind === 'number' && RISK_LIMITS[key].unit === 'fraction' && cfg.ok) {
            const asPct = viaSetLimit(key, `${x * 100}%`);
            if (asPct.ok) expect(asPct.value as number).toBeCloseTo(x, 12);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the values the issue found accepted by one and refused by the other are refused by both', () => {
    const cases: Array<[keyof RiskLimits, number]> = [
      ['stopLossPct', 0],
      ['stopLossPct', 0.000000001], // "0.0000001%": the stop would sit on the entry price
      ['maxVolatility', 5],
      ['maxOpenPositions', 5000],
      ['minTradeIntervalSec', 30 * 86_400],
      ['maxTradesPer24h', 50_000],
    ];
    for (const [key, v] of cases) {
      expect(viaConfig(key, v).ok, `${key} ${v}`).toBe(false);
      expect(viaSetLimit(key, v).ok, `${key} ${v}`).toBe(false);
    }
    expect(viaSetLimit('stopLossPct', '0.0000001%')).toMatchObject({ ok: false, error: expect.stringContaining('at least 0.001') });
  });

  it('the config file takes the chat forms too: "2%" and "off"', () => {
    expect(viaConfig('riskPerTrade', '2.5%')).toEqual({ ok: true, value: 0.025 });
    expect(viaConfig('stopLossPct', 'off')).toEqual({ ok: true, value: null });
    expect(viaConfig('maxOpenPositions', 'off').ok).toBe(false);
    expect(showLimit('stopLossPct', 0.0015)).toBe('0.15%');
    expect(showLimit('minTradeIntervalSec', 90)).toBe('1 min 30 s');
  });

  it('a limit in seconds takes a duration, in chat and in the config file alike: "30m", "90s", "1.5h"', () => {
    for (const [text, secs] of [
      ['30m', 1800],
      ['90s', 90],
      ['1.5h', 5400],
      ['2d', 172_800],
    ] as const) {
      expect(viaConfig('cooldownAfterLossSec', text)).toEqual({ ok: true, value: secs });
      expect(viaSetLimit('cooldownAfterLossSec', text)).toMatchObject({ ok: true, value: secs });
      expect(viaSetLimit('minTradeIntervalSec', text)).toMatchObject({ ok: true, value: secs });
    }
    expect(viaSetLimit('minTradeIntervalSec', '8d')).toMatchObject({ ok: false, error: expect.stringContaining('at most 604800 s (7 d)') });
    expect(viaSetLimit('minTradeIntervalSec', 'soon')).toMatchObject({
      ok: false,
      error: 'minTradeIntervalSec expects a number of seconds or a duration like 30m',
    });
    expect(viaSetLimit('riskPerTrade', '30m').ok).toBe(false); // a fraction takes no duration
  });
});

describe('/risk set and /risk help through the dispatcher', () => {
  let h: Harness;
  const admin = chatUser('admin');
  const say = async (text: string) => (await h.bot.dispatcher.handleText(admin, text))!;

  beforeAll(async () => {
    h = await startBot({ candles: 300, config: { strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('asks to confirm exactly the values the table allows, and refuses the others without a prompt', async () => {
    for (const key of LIMIT_KEYS) {
      for (const [value, allowed] of boundaryCases(key)) {
        if (typeof value === 'number' && !Number.isFinite(value)) continue;
        const r = await say(`/risk set ${key} ${value === null ? 'off' : String(value)}`);
        const label = `${key} ${String(value)}: ${r.text}`;
        if (allowed) expect(r.title === 'Please confirm' || /is already/.test(r.text), label).toBe(true);
        else expect(r.text, label).toMatch(/Nothing was changed/);
      }
    }
    expect(h.bot.engine.risk.limits).toEqual(h.bot.config.risk); // nothing was confirmed
  });

  it('setting a limit to its current value needs no confirmation', async () => {
    const r = await say('/risk set riskPerTrade 2%');
    expect(r.buttons).toBeUndefined();
    expect(r.text).toBe('riskPerTrade is already 2%: nothing to change.');
  });

  it('/risk help lists every limit with its meaning and bounds', async () => {
    const r = await say('/risk help');
    for (const key of LIMIT_KEYS) expect(r.text).toContain(`${key}: ${RISK_LIMITS[key].description}; ${allowedWords(key)}`);
    expect(r.text).toContain('riskPerTrade: max loss per trade; between 1% and 3%');
    expect(r.text).toContain(
      'maxDrawdown: drawdown from the equity peak that trips the kill switch (admin /resume re-arms); between 0% and 100% (0 = off)',
    );
  });

  it('a limit whose 0 means off shows "off", and takes "off" back', async () => {
    expect((await say('/risk')).text).toMatch(/maxDrawdown:\s+off\n/);
    expect(showLimit('maxDrawdown', 0)).toBe('off');
    expect(showLimit('maxDailyDrawdown', 0.05)).toBe('5%');
    const r = await say('/risk set maxDailyDrawdown off');
    expect(r.text).toMatch(/^Change risk limit maxDailyDrawdown: 5% → off\? It is kept across restarts\./);
  });
});
