import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';
import { readSecrets } from '../../src/config/env.ts';
import { gridParamsOf } from '../../src/grid/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'skipper-cfg-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('defaults are safe: paper exchange, BTC/USDT, 1m, approvals off, 2% risk', () => {
    const c = parseConfig({});
    expect(c.mode).toBe('paper');
    expect(c.exchange.name).toBe('paper');
    expect(c.market.symbols).toEqual(['BTC/USDT']);
    expect(c.market.timeframe).toBe('1m');
    expect(c.risk.riskPerTrade).toBe(0.02);
    expect(c.risk.maxDailyDrawdown).toBe(0.05);
    expect(c.risk.maxCapitalInUse).toBe(0.5);
    expect(c.exchange.testnet).toBe(true);
  });

  it('an empty YAML file is the defaults', () => {
    expect(loadConfig(file('empty.yaml', ''))).toEqual(parseConfig({}));
  });

  it('reports every problem with its exact path and reason', () => {
    const p = file(
      'bad.yaml',
      [
        'mode: moon',
        'market:',
        '  symbols: [btc]',
        '  timeframe: 7m',
        'risk:',
        '  riskPerTrade: 0.1',
        '  maxOpenPositions: -1',
        'strategy:',
        '  params: { fast: abc }',
        'alerts: { coalesceSec: [60] }',
        'surprise: 1',
      ].join('\n'),
    );
    let err: ConfigError | undefined;
    try {
      loadConfig(p);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = err!.problems.join('\n');
    expect(err!.file).toBe(p);
    // zod's defaults in the schema's words: what was expected, what the file has.
    expect(text).toMatch(/^mode: expected one of backtest, paper, live; got "moon"$/m);
    expect(text).toMatch(/^market\.timeframe: expected one of 1m, 3m, .*, 1d; got "7m"$/m);
    expect(text).toMatch(/^strategy\.params\.fast: expected a number, got "abc"$/m);
    expect(text).toMatch(/^alerts\.coalesceSec: expected a number, got a list$/m);
    expect(text).toMatch(/^market\.symbols\.0: expected a symbol like BTC\/USDT/m);
    expect(text).toMatch(/^market\.timeframe: /m);
    expect(text).toMatch(/^risk\.riskPerTrade: max loss per trade must be between 1% and 3%; got 10%$/m);
    expect(text).toMatch(/^risk\.maxOpenPositions: /m);
    expect(text).toMatch(/unknown key "surprise"/);
    expect(err!.problems).toHaveLength(8);
  });

  it("bounds the schema does not word itself, in the config's words, the config's and a grid's alike", () => {
    const problems = (input: unknown): string[] => {
      try {
        parseConfig(input);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(problems({ alerts: { coalesceSec: -1 } })).toEqual(['alerts.coalesceSec: must be at least 0, got -1']);
    expect(problems({ data: { warmup: 1.5 } })).toEqual(['data.warmup: must be a whole number, got 1.5']);
    expect(() => gridParamsOf({ params: { lower: 0, upper: 110, levels: 2.5, qtyPerLevel: 1 } })).toThrow(
      'grid: strategy.params.lower: must be above 0, got 0; strategy.params.levels: must be a whole number, got 2.5',
    );
  });

  it('YAML syntax errors give the line', () => {
    const p = file('syntax.yaml', 'mode: paper\nmarket: [oops\n');
    expect(() => loadConfig(p)).toThrow(/line \d+/);
    // The position once, in front, and no dangling colon where the YAML library's code frame was.
    const q = file('syntax2.yaml', 'market:\n  symbols: [ETH/USDT\n');
    let err: ConfigError | undefined;
    try {
      loadConfig(q);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err!.problems).toEqual([expect.stringMatching(/^line 3, column 1: [^:]*[a-z\]]$/)]);
  });

  it('a missing file and a non-mapping file are clear errors', () => {
    expect(() => loadConfig(join(dir, 'nope.yaml'))).toThrow(/file not found/);
    expect(() => loadConfig(file('list.yaml', '- a\n- b\n'))).toThrow(/expected a mapping/);
  });

  it('secrets come from env only and are not accepted in the file', () => {
    expect(() => parseConfig({ exchange: { apiKey: 'abc' } })).toThrow(/unknown key "apiKey"/);
    const s = readSecrets({ EXCHANGE_API_KEY: 'k-123456', TELEGRAM_BOT_TOKEN: ' ', DISCORD_BOT_TOKEN: 'd-abcdef' });
    expect(s.exchangeApiKey).toBe('k-123456');
    expect(s.telegramBotToken).toBeUndefined();
    expect(s.discordBotToken).toBe('d-abcdef');
  });

  it('`skipper config check` prints each problem and exits non-zero', () => {
    const p = file('cli.yaml', 'risk:\n  riskPerTrade: 0.5\n');
    const r = spawnSync(process.execPath, ['bin/skipper.js', 'config', 'check', p], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('risk.riskPerTrade: max loss per trade must be between 1% and 3%');
    const ok = spawnSync(process.execPath, ['bin/skipper.js', 'config', 'check'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('OK');
  });
});

describe('config: live trading needs both switches', () => {
  it('mode live without a venue, or a venue without mode live, is refused with the path', () => {
    expect(() => parseConfig({ mode: 'live' })).toThrow(/exchange\.name: live mode needs a real venue/);
    expect(() => parseConfig({ exchange: { name: 'binance' } })).toThrow(/mode: exchange\.name binance places real orders: set mode: live/);
    expect(parseConfig({ mode: 'live', exchange: { name: 'bybit' } }).exchange.testnet).toBe(true);
  });
});
