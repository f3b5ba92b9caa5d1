// /config and /reload through the chat dispatcher, on a real bot started from a temp config file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Reply } from '../../src/chat/types.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { STATE } from '../../src/journal/state-keys.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';

const buttonData = (r: Reply, label: 'Confirm' | 'Cancel'): string => r.buttons!.flat().find((b) => b.label === label)!.data;

describe('/config and /reload', () => {
  let h: Harness;
  let file: string;
  let base: ConfigInput;
  const admin = chatUser('admin');
  const say = async (text: string, user = admin) => (await h.bot.dispatcher.handleText(user, text))!;
  const write = (over: Record<string, unknown>) => writeFileSync(file, stringify({ ...base, ...over }));
  /** /reload, then Confirm when it asks. */
  const reload = async (): Promise<Reply> => {
    const ask = await say('/reload');
    if (!ask.buttons) return ask;
    expect(ask.title).toBe('Please confirm');
    return (await h.bot.dispatcher.handleButton(admin, buttonData(ask, 'Confirm'))).edit!;
  };

  // Enough routes that the config is too long for one chat message.
  const manyRoutes = Array.from({ length: 40 }, (_, i) => ({ channelId: `10000000000000${i}`, types: ['order_filled'] }));

  beforeAll(async () => {
    const dir = tempDir();
    const replay = join(dir, 'candles.csv');
    await generateCsv(replay, 300, 7);
    file = join(dir, 'skipper.yaml');
    base = {
      journal: { path: join(dir, 'skipper.db') },
      log: { file: join(dir, 'skipper.log'), level: 'info' },
      chat: { console: { enabled: false }, telegram: { users: [{ id: 1, role: 'admin' }] }, discord: { routes: manyRoutes } },
      data: { source: 'replay', replayFile: replay, speed: 'max' },
      strategy: { name: 'sma-cross', params: { fast: 10, slow: 30 } },
      heartbeat: { url: 'https://hc-ping.com/0b3d4c1e-secret-uuid' },
    };
    writeFileSync(file, stringify(base));
    h = await startBot({ dir, replayFile: replay, config: loadConfig(file) as ConfigInput, bot: { configFile: file } });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(() => writeFileSync(file, stringify(base)));

  it('/config shows the running config with secrets masked, as YAML or JSON', async () => {
    const r = await say('/config');
    expect(r.title).toBe('Running config');
    expect(r.document).toBeUndefined(); // the console shows it all
    expect(r.text).toContain(`From ${file}.`);
    expect(r.text).not.toContain('--replay'); // the replay comes from the file's data section
    expect(r.text).toContain('riskPerTrade: 0.02');
    expect(r.text).toContain('url: https://hc-ping.com/[REDACTED]');
    expect(r.text).not.toContain('secret-uuid');
    const j = await say('/config json');
    expect(j.text).toContain('"riskPerTrade": 0.02');
    expect(j.text).not.toContain('secret-uuid');
    // Off the console a long config goes as a file.
    const tg = (await h.bot.dispatcher.handleText(chatUser('admin', '1', 'telegram'), '/config'))!;
    expect(tg.document?.filename).toBe('skipper-config.yaml');
    expect(tg.document!.data.toString()).not.toContain('secret-uuid');
    expect((await say('/config', chatUser('trader'))).text).toBe('/config needs the admin role; you are a trader.');
  });

  it('a changed risk limit is applied (after a confirmation), shown by /risk, journaled and announced', async () => {
    // Limits set from chat: one the file then changes (the file wins), one it leaves alone (kept).
    for (const cmd of ['/risk set riskPerTrade 3%', '/risk set maxTradesPer24h 40']) {
      const q = await say(cmd);
      await h.bot.dispatcher.handleButton(admin, buttonData(q, 'Confirm'));
    }
    write({ risk: { riskPerTrade: 0.01, maxOpenPositions: 5 } });
    const ask = await say('/reload');
    expect(ask.text).toMatch(/^Apply 2 changes from .*skipper\.yaml\? risk\.maxOpenPositions: 3 → 5; risk\.riskPerTrade: 2% → 1%/);
    const done = (await h.bot.dispatcher.handleButton(admin, buttonData(ask, 'Confirm'))).edit!;
    expect(done.text).toMatch(/^Reloaded .*skipper\.yaml: risk\.maxOpenPositions: 3 → 5; risk\.riskPerTrade: 2% → 1%\./);
    expect(h.bot.engine.risk.limits.riskPerTrade).toBe(0.01);
    expect(h.bot.engine.risk.limits.maxOpenPositions).toBe(5);
    expect(h.bot.engine.risk.limits.maxTradesPer24h).toBe(40);
    expect(STATE.riskLimits.read(h.bot.journal)).toEqual({ maxTradesPer24h: 40 });
    expect(h.bot.journal.recentCommands(1)[0]).toMatchObject({ command: 'reload', outcome: 'confirmed' });
    expect(h.bot.journal.recentCommands(1)[0]!.detail).toContain('risk.riskPerTrade: 2% → 1%');
    const risk = await say('/risk');
    expect(risk.text).toMatch(/riskPerTrade:\s+1%/);
    expect(risk.text).toMatch(/maxOpenPositions:\s+5/);
    expect(STATE.configReload.read(h.bot.journal)).toMatchObject({
      by: admin.name,
      changed: ['risk.maxOpenPositions', 'risk.riskPerTrade'],
    });
    expect(h.bot.journal.recentAlerts(5).some((a) => a.title === 'Config reloaded')).toBe(true);
    expect((await say('/config')).text).toContain('riskPerTrade: 0.01');
    // The same file again: nothing to do, no prompt.
    expect((await say('/reload')).text).toMatch(/changes nothing the running bot uses: nothing to do\.$/);
    base = { ...base, risk: { riskPerTrade: 0.01, maxOpenPositions: 5 } };
  });

  it('a change that needs a restart (the venue, the symbols) is refused with the keys, and nothing changes', async () => {
    write({ data: { ...(base.data as object), exchange: 'bybit' }, market: { symbols: ['ETH/USDT'] }, risk: { riskPerTrade: 0.03 } });
    const r = await say('/reload');
    expect(r.buttons).toBeUndefined();
    expect(r.text).toMatch(
      /^These settings need a restart: data\.exchange, market\.symbols\. Nothing was changed \(not even the other \d+ changes?\)/,
    );
    expect(h.bot.engine.risk.limits.riskPerTrade).toBe(0.01);
    expect(h.bot.config.data.exchange).toBe('binance');
    expect(h.bot.journal.recentCommands(1)[0]).toMatchObject({ command: 'reload', outcome: 'refused' });
  });

  it('a broken file is refused with start-up’s message (line, key), and nothing changes', async () => {
    writeFileSync(file, 'risk:\n  riskPerTrade: 0.05\n  maxOpenPositions: [\n');
    const bad = await reload();
    expect(bad.text).toMatch(/has 1 problem; nothing was changed:\n- line \d+, column \d+: /);
    write({ risk: { riskPerTrade: 0.5 } });
    const out = await reload();
    expect(out.text).toMatch(/nothing was changed:\n- risk\.riskPerTrade: /);
    write({ strategy: { name: 'sma-cross', params: { fast: 10, slow: 30, nope: 1 } } });
    expect((await reload()).text).toMatch(/- strategy\.params\.nope: .*unknown parameter "nope"/);
    expect(h.bot.engine.risk.limits.riskPerTrade).toBe(0.01);
    expect(h.bot.journal.recentCommands(1)[0]).toMatchObject({ command: 'reload', outcome: 'refused' });
  });

  it('non-admins are refused', async () => {
    write({ risk: { riskPerTrade: 0.02 } });
    expect((await say('/reload', chatUser('trader'))).text).toBe('/reload needs the admin role; you are a trader.');
    expect((await say('/reload', chatUser('viewer'))).text).toBe('/reload needs the admin role; you are a viewer.');
    expect(h.bot.engine.risk.limits.riskPerTrade).toBe(0.01);
  });

  it('a file edited between the question and the press is not applied', async () => {
    write({ risk: { riskPerTrade: 0.015 } });
    const ask = await say('/reload');
    write({ risk: { riskPerTrade: 0.025 } });
    const r = (await h.bot.dispatcher.handleButton(admin, buttonData(ask, 'Confirm'))).edit!;
    expect(r.text).toMatch(/changed since you confirmed; nothing was changed/);
    expect(h.bot.engine.risk.limits.riskPerTrade).toBe(0.01);
  });

  it('strategy parameters, approvals, alerts, reports and chat users apply at once', async () => {
    write({
      strategy: { name: 'sma-cross', params: { fast: 5, slow: 40 } },
      approvals: { mode: 'always' },
      alerts: { coalesceSec: 5, minSeverity: 'warning' },
      reports: { dailyCron: '0 6 * * *' },
      chat: {
        ...(base.chat as object),
        telegram: {
          users: [
            { id: 1, role: 'admin' },
            { id: 2, role: 'viewer' },
          ],
        },
      },
    });
    const r = await reload();
    expect(r.text).toMatch(/^Reloaded /);
    const strategy = (h.bot.engine as unknown as { symbols: Map<string, { strategy: { warmup: number } }> }).symbols.get(
      'BTC/USDT',
    )!.strategy;
    expect(strategy.warmup).toBe(40);
    expect(h.bot.approvals.mode()).toMatchObject({ mode: 'always' });
    expect(h.bot.config.alerts.minSeverity).toBe('warning');
    expect(h.bot.config.chat.telegram.users.map((u) => u.id)).toEqual(['1', '2']);
    expect(h.bot.config.reports.dailyCron).toBe('0 6 * * *');
  });
});
