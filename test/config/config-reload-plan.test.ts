// /reload's plan, pure: what changed, what applies at run time, what needs a restart.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { diffConfig, isLivePath, planReload } from '../../src/config/reload.ts';
import { assignInPlace } from '../../src/config/reload.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

const running = parseConfig({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 30 } } });
const next = (over: ConfigInput) => parseConfig({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 30 } }, ...over });

/** Settings that change at run time, each with values the schema accepts. */
const liveEdits = fc.record(
  {
    risk: fc.record(
      { riskPerTrade: fc.constantFrom(0.01, 0.015, 0.03), maxOpenPositions: fc.integer({ min: 1, max: 20 }) },
      { requiredKeys: [] },
    ),
    approvals: fc.record(
      { mode: fc.constantFrom('off', 'always', 'above'), timeoutSec: fc.integer({ min: 10, max: 600 }) },
      { requiredKeys: [] },
    ),
    alerts: fc.record(
      { coalesceSec: fc.integer({ min: 0, max: 600 }), minSeverity: fc.constantFrom('info', 'warning', 'critical') },
      {
        requiredKeys: [],
      },
    ),
    reports: fc.record({ dailyCron: fc.constantFrom('0 0 * * *', '0 6 * * *'), charts: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ConfigInput>;

/** Settings read once at start. */
const restartEdits = fc.constantFrom<[ConfigInput, string]>(
  [{ market: { symbols: ['ETH/USDT'] } }, 'market.symbols'],
  [{ market: { timeframe: '5m' } }, 'market.timeframe'],
  [{ data: { exchange: 'bybit' } }, 'data.exchange'],
  [{ journal: { path: 'elsewhere.db' } }, 'journal.path'],
  [{ metrics: { port: 9999 } }, 'metrics.port'],
  [{ strategy: { name: 'ema-cross', params: { fast: 10, slow: 30 } } }, 'strategy.name'],
  [{ chat: { telegram: { pollTimeoutSec: 10 } } }, 'chat.telegram.pollTimeoutSec'],
  [{ chat: { console: { role: 'viewer' } } }, 'chat.console.role'],
);

describe('planReload', () => {
  it('the same config changes nothing', () => {
    expect(planReload(running, next({}))).toEqual({ changes: [], apply: [], needsRestart: [], errors: [] });
  });

  it('live settings alone are applied, every one of them, and nothing needs a restart', () => {
    fc.assert(
      fc.property(liveEdits, (edit) => {
        const n = next(edit);
        const p = planReload(running, n);
        expect(p.needsRestart).toEqual([]);
        expect(p.errors).toEqual([]);
        expect(p.apply).toEqual(p.changes);
        for (const c of p.changes) expect(isLivePath(c.path)).toBe(true);
        // Applying the plan in place makes the running config equal to the file.
        const copy = structuredClone(running);
        assignInPlace(copy as never, n as never);
        expect(diffConfig(copy, n)).toEqual([]);
      }),
    );
  });

  it('any restart-only change refuses the whole reload, naming the key', () => {
    fc.assert(
      fc.property(liveEdits, restartEdits, (live, [edit, key]) => {
        const n = parseConfig({ ...structuredClone(running), ...live, ...edit, risk: { ...running.risk, ...live.risk } });
        const p = planReload(running, n);
        expect(p.needsRestart).toContain(key);
        expect(p.apply).toEqual([]);
      }),
    );
  });

  it('changed strategy parameters are checked by the strategy itself', () => {
    const p = planReload(running, next({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 30, bogus: 1 } } }));
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]).toMatch(/^strategy\.params\.bogus: sma-cross: unknown parameter "bogus"/);
    expect(p.apply).toEqual([]);
    const ok = planReload(running, next({ strategy: { name: 'sma-cross', params: { fast: 5, slow: 30 } } }));
    expect(ok.apply).toEqual([{ path: 'strategy.params.fast', from: 10, to: 5 }]);
  });

  it('a model strategy takes new parameters at the next start (the model runtime builds it), as a grid does', () => {
    for (const name of ['ensemble', 'model'] as const) {
      const was = next({ strategy: { name, params: { atrStop: 2 } } });
      const p = planReload(was, next({ strategy: { name, params: { atrStop: 3 } } }));
      expect(p.needsRestart).toEqual(['strategy.params.atrStop']);
      expect(p.apply).toEqual([]);
    }
  });

  it("a parameter the file adds or drops is shown against the strategy's default, not as unset", () => {
    const bare = next({ strategy: { name: 'sma-cross', params: {} } });
    expect(planReload(bare, next({ strategy: { name: 'sma-cross', params: { fast: 12 } } })).apply).toEqual([
      { path: 'strategy.params.fast', from: 10, to: 12 },
    ]);
    expect(planReload(next({ strategy: { name: 'sma-cross', params: { fast: 12 } } }), bare).apply).toEqual([
      { path: 'strategy.params.fast', from: 12, to: 10 },
    ]);
    // Writing the default out changes nothing the bot does.
    expect(planReload(bare, next({ strategy: { name: 'sma-cross', params: { fast: 10 } } })).changes).toEqual([]);
  });

  it('a user list or a route is one change of the whole list', () => {
    const p = planReload(running, next({ chat: { telegram: { users: [{ id: 42, role: 'trader' }] } } }));
    expect(p.apply).toEqual([{ path: 'chat.telegram.users', from: [], to: [{ id: '42', role: 'trader' }] }]);
  });
});
