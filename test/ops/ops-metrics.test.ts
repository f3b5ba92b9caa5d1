// Prometheus metrics: the endpoint on a paper replay, its token, a port in use, the Grafana
// dashboard against what the bot exports, and venue request metrics through real ccxt.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CcxtExchange } from '../../src/exchange/ccxt/index.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { classify, endpointOf, instrumentCcxt, type VenueOutcome } from '../../src/ops/venue-metrics.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { startBot, type Harness } from '../helpers/harness.ts';

const get = async (port: number, path = '/metrics', headers: Record<string, string> = {}) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, body: await res.text() };
};

/** `name{labels} value` lines → value of the first series whose name and labels match. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const sum = (text: string, name: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((a, l) => a + Number(l.split(/\s+/).at(-1)), 0);

describe('metrics endpoint on a paper replay', () => {
  let h: Harness;
  let text: string;

  beforeAll(async () => {
    h = await startBot({ candles: 3000, config: { metrics: { enabled: true, port: 0 }, risk: { maxConsecutiveLosses: 0 } } });
    const r = await get(h.bot.ops.metricsPort!);
    expect(r.status).toBe(200);
    text = r.body;
  });
  afterAll(() => h.stop());

  it('shows account, trading, feed, decision, risk and process metrics', () => {
    expect(sample(text, 'skipper_info', { mode: 'paper', venue: 'paper', strategy: 'sma-cross' })).toBe(1);
    expect(sample(text, 'skipper_equity', { currency: 'USDT' })).toBeCloseTo(h.bot.engine.status().equity, 6);
    expect(sample(text, 'skipper_cash', { currency: 'USDT' })).toBeCloseTo(h.bot.engine.portfolio.cash, 6);
    expect(sum(text, 'skipper_fills_total')).toBe(h.bot.journal.count('fills'));
    expect(sum(text, 'skipper_risk_verdicts_total')).toBe(h.bot.journal.count('decisions'));
    expect(sample(text, 'skipper_candles_processed_total', { symbol: 'BTC/USDT' })).toBe(3000);
    expect(sample(text, 'skipper_decision_duration_seconds_count', { symbol: 'BTC/USDT' })).toBe(3000);
    expect(sample(text, 'skipper_feed_status', { symbol: 'BTC/USDT', status: 'done' })).toBe(1);
    expect(sample(text, 'skipper_feed_status', { symbol: 'BTC/USDT', status: 'up' })).toBe(0);
    expect(sum(text, 'skipper_reconciliations_total')).toBe(h.bot.journal.recentReconciliations(100).length);
    // The venue's first connect is part of the start: one start-up run, no "reconnect".
    expect(h.bot.journal.recentReconciliations(100).map((r) => r.trigger)).toEqual(['startup']);
    expect(sample(text, 'skipper_venue_up', { venue: 'paper' })).toBe(1);
    expect(sample(text, 'skipper_paused')).toBe(0);
    // From the highest equity on record: the journal's snapshots of the whole replay, not only what scrapes saw.
    const peak = h.bot.journal.sqlite.prepare('select max(equity) as e from equity_snapshots').get() as { e: number };
    const equity = h.bot.engine.status().equity;
    expect(sample(text, 'skipper_drawdown_ratio')).toBeCloseTo(Math.max(0, 1 - equity / Math.max(peak.e, equity)), 9);
    expect(peak.e).toBeGreaterThan(equity); // (the seeded replay ends below its peak: the figure is not 0)
    // The replay is over: the engine's clock moves on from the last candle's close at wall pace.
    expect(sample(text, 'skipper_candle_age_seconds', { symbol: 'BTC/USDT' })).toBeLessThan(30);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^# TYPE skipper_venue_request_duration_seconds histogram$/m);
  });

  it('counts new events between scrapes from the journal', async () => {
    const before = sum(text, 'skipper_fills_total');
    const admin = { transport: 'console' as const, id: 'a', role: 'admin' as const };
    const ask = await h.bot.dispatcher.handleText(admin, h.bot.engine.portfolio.positions.size ? '/close BTC/USDT' : '/buy BTC/USDT 0.01');
    await h.bot.dispatcher.handleButton(admin, ask!.buttons![0]![0]!.data);
    const after = (await get(h.bot.ops.metricsPort!)).body;
    expect(sum(after, 'skipper_fills_total')).toBe(before + 1);
    expect(sum(after, 'skipper_fills_total')).toBe(h.bot.journal.count('fills'));
  });

  it('answers only GET /metrics', async () => {
    expect((await get(h.bot.ops.metricsPort!, '/')).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${h.bot.ops.metricsPort}/metrics`, { method: 'POST' });
    expect(res.status).toBe(405);
  });

  it('the Grafana dashboard queries only metrics the bot exports, and charts every skipper_ metric', () => {
    const exported = new Set([...h.bot.ops.seriesNames(), ...[...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!)]);
    const dash = JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy/grafana/skipper.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const used = new Set<string>();
    let queries = 0;
    for (const p of dash.panels) {
      for (const t of p.targets ?? []) {
        queries++;
        const tree = parser.parse(t.expr);
        tree.iterate({
          enter: (n) => {
            expect(n.type.isError, `${p.title}: syntax error in ${t.expr}`).toBe(false);
            if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') used.add(t.expr.slice(n.from, n.to));
          },
        });
      }
    }
    expect(queries).toBeGreaterThan(30);
    const unknown = [...used].filter((n) => !exported.has(n));
    expect(unknown, 'metrics the dashboard queries but the bot does not export').toEqual([]);
    const families = h.bot.ops.seriesNames().filter((n) => n.startsWith('skipper_'));
    const family = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
    const charted = new Set([...used].map(family));
    const uncharted = [...new Set(families.map(family))].filter((f) => !charted.has(f));
    expect(uncharted, 'exported skipper_ metrics without a panel').toEqual([]);
  });
});

describe('metrics endpoint protection and failures', () => {
  it('asks for the bearer token when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-for-tests-123';
    const h = await startBot({ candles: 200, config: { metrics: { enabled: true, port: 0 } }, bot: { secrets: { metricsToken: token } } });
    try {
      const port = h.bot.ops.metricsPort!;
      expect((await get(port)).status).toBe(401);
      expect((await get(port, '/metrics', { authorization: 'Bearer wrong' })).status).toBe(401);
      const ok = await get(port, '/metrics', { authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('skipper_equity');
    } finally {
      await h.stop();
    }
  });

  it('a port in use: a clear message and an alert, and the bot trades on', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const h = await startBot({ candles: 3000, config: { metrics: { enabled: true, port }, risk: { maxConsecutiveLosses: 0 } } });
      try {
        expect(h.bot.ops.metricsPort).toBeUndefined();
        expect(h.bot.journal.count('fills')).toBeGreaterThan(0);
        const alert = h.bot.journal.sqlite.prepare("select message from alerts where title = 'Metrics endpoint not started'").get() as
          { message: string } | undefined;
        expect(alert?.message).toContain(`port ${port} on 127.0.0.1 is already in use`);
        expect(alert?.message).toContain('Trading continues');
      } finally {
        await h.stop();
      }
    } finally {
      blocker.close();
    }
  });
});

describe('venue request metrics (real ccxt against the fake Binance)', () => {
  const KEY = 'k'.repeat(64);
  let fake: FakeBinance;
  beforeAll(async () => {
    fake = await new FakeBinance({ type: 'spot', apiKey: KEY }).start();
  });
  afterAll(() => fake.close());

  it('labels each REST call with its endpoint and outcome; 429s count as rate limits', async () => {
    const seen: Array<{ method: string; endpoint: string; outcome: VenueOutcome }> = [];
    let rateLimited = 0;
    // Venue time moves with the adapter's sleeps: a rate-limit pause passes at once.
    let t = Date.now();
    const ex = new CcxtExchange({
      venue: 'binance',
      marketType: 'spot',
      testnet: false,
      symbols: ['BTC/USDT'],
      credentials: { apiKey: KEY, secret: 's'.repeat(64) },
      clock: { now: () => t },
      log: silentLogger(),
      leverage: 1,
      marginMode: 'isolated',
      websocket: false,
      pollMs: 3_600_000,
      recvWindowMs: 10_000,
      apiUrl: fake.url,
      sleep: (ms) => {
        t += ms;
        return new Promise((r) => setTimeout(r, Math.min(ms, 5)));
      },
      instrument: (c) =>
        instrumentCcxt(c, 'binance', {
          venueRequest: (_v, method, endpoint, outcome, seconds) => {
            expect(seconds).toBeGreaterThanOrEqual(0);
            seen.push({ method, endpoint, outcome });
          },
          rateLimited: () => rateLimited++,
        }),
    });
    try {
      await ex.connect();
      expect(seen).toContainEqual({ method: 'GET', endpoint: '/api/v3/exchangeInfo', outcome: 'ok' });
      expect(seen).toContainEqual({ method: 'GET', endpoint: '/api/v3/account', outcome: 'ok' });
      fake.http.inject({ kind: 'status', path: '/api/v3/account', status: 429, body: { code: -1003, msg: 'Too many requests.' } });
      await ex.fetchBalances();
      expect(seen).toContainEqual({ method: 'GET', endpoint: '/api/v3/account', outcome: 'rate_limited' });
      expect(rateLimited).toBe(1);
    } finally {
      await ex.close();
    }
  });

  it('folds ids out of endpoint labels and classifies ccxt errors by class', async () => {
    expect(endpointOf('https://api.bybit.com/v5/order/realtime?symbol=BTCUSDT')).toBe('/v5/order/realtime');
    expect(endpointOf('https://x.test/api/v1/orders/123456789/cancel')).toBe('/api/v1/orders/:id/cancel');
    const ccxt = (await import('ccxt')).default;
    expect(classify(new ccxt.RateLimitExceeded('x'))).toBe('rate_limited');
    expect(classify(new ccxt.DDoSProtection('x'))).toBe('rate_limited');
    expect(classify(new ccxt.RequestTimeout('x'))).toBe('timeout');
    expect(classify(new ccxt.ExchangeNotAvailable('x'))).toBe('network');
    expect(classify(new ccxt.AuthenticationError('x'))).toBe('auth');
    expect(classify(new ccxt.InsufficientFunds('x'))).toBe('refused');
    expect(classify(new Error('x'))).toBe('error');
  });
});
