// The research commands end to end (bin/skipper.js), and the offline HTML report opened in headless
// Chromium (skipped when no chromium is installed): it renders, and no request leaves the page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSkipper } from '../helpers/cli.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { pngInfo } from '../../src/reports/charts.ts';
import { generateCsv } from '../../src/market/generator.ts';

const T0 = Date.UTC(2024, 0, 1);
let dir: string;
let csv: string;
let config: string;

const skipper = (args: string[]) => runSkipper(args, dir);

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version']).status === 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skipper-research-cli-'));
  csv = join(dir, 'btc_1h.csv');
  await generateCsv(csv, 24 * 90, 21, { timeframe: '1h', startTs: T0, volatility: 0.01 });
  config = join(dir, 'c.yaml');
  writeFileSync(config, 'market: { timeframe: 1h, symbols: [BTC/USDT] }\nrisk: { maxConsecutiveLosses: 0 }\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('skipper backtest --config', () => {
  it('prints the JSON with per-symbol results, rejections, breaker trips, liquidations and funding; writes the report and chart', async () => {
    const r = await skipper([
      'backtest',
      '--config',
      config,
      '--data',
      `BTC/USDT=${csv}`,
      '--from',
      '2024-01-15',
      '--json',
      '--report',
      'r.html',
      '--chart',
      'c.png',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of [
      'bars',
      'fills',
      'final_equity',
      'metrics',
      'per_symbol',
      'rejections',
      'exits',
      'breaker_trips',
      'liquidations',
      'funding',
      'elapsed_ms',
      'bars_per_sec',
    ])
      expect(j, k).toHaveProperty(k);
    expect(j.from).toBe(Date.UTC(2024, 0, 15));
    expect(pngInfo(readFileSync(join(dir, 'c.png')))).toEqual({ width: 960, height: 560 });
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\((?!#)|(src|href)\s*=\s*["']?(?!#)/i); // nothing that could fetch
    for (const s of [
      'Equity and drawdown',
      'BTC/USDT: price and fills',
      'Monthly returns',
      'Exits',
      'Risk-rule rejections',
      'max drawdown',
    ])
      expect(html).toContain(s);
  }, 60_000);

  it("refuses the reference backtest's options it would not use (--journal, --fee…), naming them", async () => {
    const r = await skipper(['backtest', '--config', config, '--data', csv, '--journal', 'j.db', '--fee', '0.002']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--fee: not used by backtest --config (it runs the config file's settings, its journal in memory)");
    expect(r.err).toContain('--journal: not used by backtest --config');
    expect(existsSync(join(dir, 'j.db'))).toBe(false);
  });

  it('a sweep over an unknown config path, and a failing stress --require, exit non-zero with the reason', async () => {
    const bad = await skipper(['sweep', '--config', config, '--data', csv, '--param', 'risk.stopLoss=0.01,0.02', '--results', 'x.db']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--param risk\.stopLoss=0\.01: .*unknown key "stopLoss"/);
    expect(existsSync(join(dir, 'x.db'))).toBe(false); // nothing written that looks like a result
    // Refused once the sweep has looked at its sets (a 1m model on 1h candles): no results file either.
    const modelCfg = join(dir, 'm.yaml');
    writeFileSync(modelCfg, `market: { timeframe: 1h }\nstrategy: { name: model, model: ${join(PROJECT_ROOT, 'models', 'btc-mlp')} }\n`);
    const refused = await skipper([
      'sweep',
      '--config',
      modelCfg,
      '--data',
      csv,
      '--param',
      'risk.stopLossPct=0.01,0.02',
      '--results',
      'y.db',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/no valid parameter combination: .*trained on 1m candles, run on 1h/);
    expect(existsSync(join(dir, 'y.db'))).toBe(false);
    writeFileSync(join(dir, 'binance_spot_BTCUSDT_1h_2024-01-01_2024-03-31.csv'), readFileSync(csv));
    const s = await skipper(['stress', '--config', config, '--data-dir', dir, '--workers', '1', '--require', 'max_drawdown<=0.0001']);
    expect(s.code).toBe(1);
    expect(s.out).toMatch(/−30 % gap open .*fail: max_drawdown<=0\.0001/);
    expect(s.out).toMatch(/not covered: COVID crash, March 2020/);
    // No --config: the embedded defaults (1m), as `skipper run` takes them; this folder has only 1h data.
    const d = await skipper(['stress', '--data-dir', dir, '--workers', '1']);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/no data in .* for BTC\/USDT at 1m or finer/);
  }, 60_000);
});

describe.skipIf(!chromium)('the HTML report in headless Chromium', () => {
  let proxy: Server;
  let requests: string[];
  beforeAll(async () => {
    requests = [];
    // Every request the page would make goes through this proxy: it must see none.
    proxy = createServer((req, res) => {
      requests.push(String(req.url));
      res.writeHead(404).end();
    });
    proxy.on('connect', (req, socket) => {
      requests.push(String(req.url));
      socket.destroy();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  afterAll(() => proxy.close());

  it('renders offline and makes no request', async () => {
    const report = join(dir, 'r.html');
    if (!existsSync(report)) await skipper(['backtest', '--config', config, '--data', csv, '--report', 'r.html']);
    const port = (proxy.address() as { port: number }).port;
    const shot = join(dir, 'shot.png');
    // Asynchronous: a spawnSync would block this process, and the proxy with it, so it could never see a request.
    const run = (extra: string[]) =>
      new Promise<{ stdout: string }>((resolve) => {
        const p = spawn(
          chromium!,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            `--user-data-dir=${mkdtempSync(join(dir, 'chrome-'))}`,
            `--proxy-server=http://127.0.0.1:${port}`,
            '--proxy-bypass-list=<-loopback>',
            ...extra,
            `file://${report}`,
          ],
          { stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
        );
        let stdout = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        p.on('close', () => resolve({ stdout }));
      });
    const dom = await run(['--dump-dom']);
    expect(dom.stdout).toContain('Monthly returns');
    expect((dom.stdout.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    await run(['--window-size=1100,1600', `--screenshot=${shot}`]);
    const png = readFileSync(shot);
    expect(pngInfo(png)).toEqual({ width: 1100, height: 1600 });
    expect(png.length).toBeGreaterThan(40_000); // a blank page compresses to a few kB
    // Chromium's own services (time, component updates, accounts) are not the page's requests.
    const own = (u: string) => /^(https?:\/\/)?[\w.-]*\b(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(:\d+)?([/?]|$)/.test(u);
    expect(requests.filter((u) => !own(u))).toEqual([]);
  }, 120_000);
});
