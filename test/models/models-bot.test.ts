// Model strategies in the running bot: a paper replay trades on the ensemble, every prediction is journaled and
// scored on candle time, /models shows it, enable/disable survives a restart, hot reload is announced.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/chat/types.ts';
import { chatUser, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { tmpModels, writeTinyModel } from '../helpers/models.ts';
import { writeCandlesCsv } from '../../src/market/csv.ts';
import { generateCandles } from '../../src/market/generator.ts';

const viewer = chatUser('viewer');
const admin = chatUser('admin');

let h: Harness | undefined;
let root: string;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  rmSync(root, { recursive: true, force: true });
});

const send = async (hh: Harness, user: typeof viewer, text: string): Promise<Reply> => {
  const r = await hh.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
};
const confirm = async (hh: Harness, user: typeof viewer, text: string): Promise<string> => {
  const ask = await send(hh, user, text);
  expect(ask.title).toBe('Please confirm');
  const b = ask.buttons!.flat().find((x) => x.label === 'Confirm')!;
  const res = await hh.bot.dispatcher.handleButton(user, b.data);
  return res.edit!.text;
};
const rows = (hh: Harness, sql: string): Array<Record<string, number | string | null>> =>
  hh.bot.journal.sqlite.prepare(sql).all() as Array<Record<string, number | string | null>>;
const count = (hh: Harness, where: string): number =>
  (hh.bot.journal.sqlite.prepare(`SELECT COUNT(*) AS n FROM model_predictions WHERE ${where}`).get() as { n: number }).n;
const until = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

async function ensemble(): Promise<string> {
  root = tmpModels();
  await writeTinyModel(root, { name: 'up', lean: 'up' });
  await writeTinyModel(root, { name: 'up2', lean: 'up', strength: 1000 });
  writeFileSync(
    join(root, 'ensemble.json'),
    JSON.stringify({
      schemaVersion: 1,
      mode: 'weighted',
      minConfidence: 0.3,
      members: [
        { model: 'up', weight: 2 },
        { model: 'up2', weight: 1 },
      ],
    }),
  );
  return root;
}

describe('timeframe at start-up', () => {
  it('a model trained on another timeframe than market.timeframe stops start-up (and config check) with the reason', async () => {
    root = tmpModels();
    const hourly = await writeTinyModel(root, { name: 'hourly', lean: 'up' }, (m) => void (m.timeframe = '1h'));
    const config = {
      market: { timeframe: '1m' as const },
      strategy: { name: 'model', model: hourly },
      models: { dir: root, watch: false },
    };
    await expect(startBot({ dir: tempDir(), candles: 50, config })).rejects.toThrow(
      /strategy\.model: .*hourly\/manifest\.json: timeframe: trained on 1h candles, run on 1m \(market\.timeframe\): its features and 5-bar label horizon/,
    );
    h = await startBot({ dir: tempDir(), candles: 50, config: { ...config, market: { timeframe: '1h' as const } } });
  });
});

describe('the model file at start-up (and config check)', () => {
  it('a model file that is not the one its manifest names (sha256) or is missing stops start-up with the reason', async () => {
    root = tmpModels();
    const dir = await writeTinyModel(root, { name: 'cut', lean: 'up' });
    const onnx = join(dir, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 100)); // half-written
    const config = { strategy: { name: 'model', model: dir }, models: { dir: root, watch: false } };
    await expect(startBot({ dir: tempDir(), candles: 50, config })).rejects.toThrow(
      /strategy\.model: .*cut\/model\.onnx: sha256: is \w+…, the manifest says \w+… \(file replaced, half-written, or manifest not updated\)/,
    );
    rmSync(onnx);
    await expect(startBot({ dir: tempDir(), candles: 50, config })).rejects.toThrow(/strategy\.model: .*cut\/model\.onnx: file: missing/);
  });

  it('two members of one folder name stop start-up (the second would be the first again, voting twice)', async () => {
    root = tmpModels();
    await writeTinyModel(root, { name: 'up', lean: 'up' });
    const other = await writeTinyModel(tmpModels(), { name: 'up', lean: 'down', version: 7 });
    const config = { strategy: { name: 'ensemble', models: ['up', other] }, models: { dir: root, watch: false } };
    await expect(startBot({ dir: tempDir(), candles: 50, config })).rejects.toThrow(
      /strategy\.models: two members are models named up \(their folder's name\): name each model once/,
    );
  });

  it('an ensemble starts without a member whose file is bad (a publish cut off by a crash): the others vote', async () => {
    root = tmpModels();
    await writeTinyModel(root, { name: 'up', lean: 'up' });
    const cut = await writeTinyModel(root, { name: 'cut', lean: 'down' });
    const onnx = join(cut, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 100));
    h = await startBot({
      candles: 100,
      config: { strategy: { name: 'ensemble', models: ['up', 'cut'] }, models: { dir: root, watch: false } },
    });
    const slots = h.bot.models!.set.slots;
    expect(slots.get('up')!.current).not.toBeNull();
    expect(slots.get('cut')!.current).toBeNull();
    expect(slots.get('cut')!.lastError).toMatch(/sha256/);
    expect(rows(h, "SELECT COUNT(*) AS n FROM model_predictions WHERE model = 'up'")[0]!.n).toBeGreaterThan(0);
  });
});

/** The report's row for model `m` on the day from `dayStart`: its directional calls whose horizon ended that day. */
function expectReportRow(hh: Harness, report: string, m: string, dayStart: number): { n: number; hits: number } {
  const t = rows(
    hh,
    `SELECT COUNT(hit) AS n, COALESCE(SUM(hit), 0) AS hits FROM model_predictions WHERE model = '${m}' AND exit_price IS NOT NULL
     AND ts + horizon * 60000 >= ${dayStart} AND ts + horizon * 60000 < ${dayStart + 86_400_000}`,
  )[0]! as { n: number; hits: number };
  expect(t.n).toBeGreaterThan(0);
  const rate = ((t.hits / t.n) * 100).toFixed(1).replace(/\.0$/, '');
  expect(report).toMatch(new RegExp(`^${m} v1\\s+${rate.replace('.', '\\.')}%\\s+${t.hits}/${t.n}$`, 'm'));
  return t;
}

describe('the reports count each call once, on the day its horizon ended', () => {
  it("a replay across midnight: the calls of the day's last bars are in the next day's report, none is lost", async () => {
    const dir = tempDir();
    root = tmpModels();
    await writeTinyModel(root, { name: 'up', lean: 'up' }); // horizon 5 bars
    const day1 = Date.UTC(2025, 0, 2);
    const csv = join(dir, 'midnight.csv');
    await writeCandlesCsv(csv, generateCandles({ count: 240, seed: 5, startTs: day1 - 120 * 60_000 }));
    h = await startBot({
      dir,
      replayFile: csv,
      config: { strategy: { name: 'model', model: join(root, 'up') }, models: { dir: root, watch: false } },
    });
    const before = (await h.bot.reports.build('daily', day1)).text;
    const after = (await h.bot.reports.build('daily', day1 + 86_400_000)).text;
    const a = expectReportRow(h, before, 'up', day1 - 86_400_000);
    const b = expectReportRow(h, after, 'up', day1);
    // The calls made on the last 5 bars before midnight end after it: in the second report, not the first.
    const late = rows(h, `SELECT COUNT(hit) AS n FROM model_predictions WHERE ts < ${day1} AND ts + 5 * 60000 >= ${day1}`)[0]!.n as number;
    expect(late).toBeGreaterThan(0);
    const scored = rows(h, 'SELECT COUNT(hit) AS n FROM model_predictions WHERE exit_price IS NOT NULL')[0]!.n as number;
    expect(a.n + b.n).toBe(scored); // every scored call in exactly one report
  }, 60_000);
});

describe('ensemble strategy in a paper replay', () => {
  it('trades on the ensemble, journals every prediction and scores it after its horizon (candle time)', async () => {
    const dir = tempDir();
    await ensemble();
    const config = { strategy: { name: 'ensemble' }, models: { dir: root, watch: false } };
    h = await startBot({ dir, candles: 400, config });
    const preds = rows(h, 'SELECT model, version, ts, exit_price, hit, horizon FROM model_predictions ORDER BY id');
    expect(preds.length).toBeGreaterThan(300 * 2);
    expect(new Set(preds.map((p) => p.model))).toEqual(new Set(['up', 'up2']));
    // Scored exactly when `horizon` bars have passed on candle time: the last 5 candles' predictions are still open.
    const lastTs = Math.max(...preds.map((p) => p.ts as number));
    for (const p of preds) expect(p.exit_price === null).toBe((p.ts as number) > lastTs - 5 * 60_000);
    expect(h.bot.journal.count('fills')).toBeGreaterThan(0);
    const decisions = rows(h, 'SELECT strategy, votes, features FROM model_decisions');
    expect(decisions.length).toBeGreaterThan(0);
    expect(JSON.parse(decisions[0]!.votes as string)).toEqual([
      expect.objectContaining({ model: 'up', version: 1 }),
      expect.objectContaining({ model: 'up2', version: 1 }),
    ]);
    expect(Object.keys(JSON.parse(decisions[0]!.features as string))).toEqual(['ret_1', 'rsi_5', 'body']);

    const shown = (await send(h, viewer, '/models')).text;
    expect(shown).toMatch(/^ensemble, weighted vote/);
    expect(shown).toMatch(/up v1 — weight 2, enabled, horizon 5 bars/);
    expect(shown).toMatch(/hit rate \d+(\.\d)?% \(n=\d+\); trained 50(\.0)?%/);
    expect(shown).toMatch(/calibration \(confidence → hit rate\)/);

    // The daily report says which models still work: each one's hit rate on the calls whose horizon ended that day.
    const firstTs = Math.min(...preds.map((p) => p.ts as number));
    const dayStart = firstTs - (firstTs % 86_400_000);
    const report = (await h.bot.reports.build('daily', dayStart + 86_400_000)).text;
    for (const m of ['up', 'up2']) expectReportRow(h, report, m, dayStart);
    expect(report).toContain('Models, the buy/sell calls whose horizon ended this day:');

    // Restart: the open predictions are scored by the next candles, the scores are read back from the journal.
    const scoredBefore = preds.filter((p) => p.exit_price !== null).length;
    await h.stop();
    h = await startBot({ dir, candles: 400, config, seed: 7 });
    const after = rows(h, 'SELECT COUNT(exit_price) AS n FROM model_predictions')[0]!.n as number;
    expect(after).toBeGreaterThanOrEqual(scoredBefore);
    expect((await send(h, viewer, '/models')).text).toMatch(/hit rate .*\(n=\d+\)/);
  }, 60_000);

  it('/backtest runs the ensemble config (it was refused as an unknown strategy)', async () => {
    await ensemble();
    h = await startBot({ dir: tempDir(), candles: 400, config: { strategy: { name: 'ensemble' }, models: { dir: root, watch: false } } });
    const r = await send(h, admin, '/backtest 1');
    expect(r.text).not.toMatch(/Refused/);
    expect(r.title).toBe('Backtest');
    expect(r.text).toMatch(/^BTC\/USDT 1m, ensemble\n/);
    expect(r.text).toMatch(/Final equity\s+[\d,]+\.\d\d USDT/);
  }, 60_000);

  it('/models disable|enable (admin, confirmed) takes a model out of the vote and survives a restart', async () => {
    const dir = tempDir();
    await ensemble();
    const config = { strategy: { name: 'ensemble' }, models: { dir: root, watch: false } };
    h = await startBot({ dir, candles: 100, config });
    expect((await h.bot.dispatcher.handleText(viewer, '/models disable up2'))?.text).toMatch(/admin/i);
    expect(await confirm(h, admin, '/models disable up2')).toMatch(/Model up2 disabled: it no longer votes/);
    expect(h.bot.journal.getState('models_disabled', [])).toEqual(['up2']);
    await h.stop();
    h = await startBot({ dir, candles: 100, config });
    expect(h.bot.models!.set.slots.get('up2')!.enabled).toBe(false);
    const listed = (await send(h, viewer, '/models')).text;
    expect(listed).toMatch(/up2 v1 — weight 1, DISABLED/);
    // The events are on the wall clock, the replay's candles are not: the line says so.
    expect(listed).toMatch(/\nRecent \(wall clock\): \d{4}-\d\d-\d\d \d\d:\d\d UTC .*up2 disabled: /);
    expect(await confirm(h, admin, '/models disable up')).toMatch(/last enabled model/);
    expect(await confirm(h, admin, '/models enable up2')).toMatch(/Model up2 enabled/);
    expect(rows(h, "SELECT type FROM model_events WHERE type IN ('enabled','disabled') ORDER BY id").map((r) => r.type)).toEqual([
      'disabled',
      'enabled',
    ]);
  }, 60_000);

  it('a new version of a disabled model is announced as disabled, not as voting from the next candle', async () => {
    await ensemble();
    h = await startBot({ candles: 100, config: { strategy: { name: 'ensemble' }, models: { dir: root, watch: false } } });
    expect(await confirm(h, admin, '/models disable up2')).toMatch(/Model up2 disabled/);
    const v2 = await writeTinyModel(tmpModels(), { name: 'up2', lean: 'down', version: 2 });
    for (const f of ['model.onnx', 'golden.json', 'manifest.json']) writeFileSync(join(root, 'up2', f), readFileSync(join(v2, f)));
    await send(h, admin, '/models reload up2');
    const said = h.bot.journal.recentAlerts(20).find((a) => a.title === 'Model up2 v2 loaded, replaced v1');
    expect(said?.message).toMatch(/up2 is disabled: it does not vote until \/models enable up2\.$/);
  }, 60_000);

  it('a config whose every model was disabled in an earlier run enables them again, and says so', async () => {
    const dir = tempDir();
    await ensemble();
    h = await startBot({ dir, candles: 100, config: { strategy: { name: 'ensemble' }, models: { dir: root, watch: false } } });
    expect(await confirm(h, admin, '/models disable up2')).toMatch(/Model up2 disabled/);
    await h.stop();
    // The config now names up2 alone: with the saved list nothing would vote, and /status would say trading.
    h = await startBot({
      dir,
      candles: 100,
      config: { strategy: { name: 'ensemble', models: ['up2'] }, models: { dir: root, watch: false } },
    });
    expect(h.bot.models!.set.slots.get('up2')!.enabled).toBe(true);
    expect(h.bot.journal.getState('models_disabled', [])).toEqual([]);
    expect(h.bot.journal.recentAlerts(50).find((a) => a.title === 'Disabled models enabled again')?.message).toContain(
      'Every model of this ensemble was disabled in an earlier run (up2)',
    );
  }, 60_000);

  it('a model below the hit-rate floor raises an alert and is disabled when configured', async () => {
    root = tmpModels();
    await writeTinyModel(root, { name: 'up', lean: 'up' });
    await writeTinyModel(root, { name: 'down', lean: 'down' });
    const config = {
      strategy: { name: 'ensemble', models: ['up', 'down'] },
      models: { dir: root, watch: false, minHitRate: 0.99, minPredictions: 5, disableBelowFloor: true },
    };
    h = await startBot({ candles: 300, config });
    const titles = h.bot.journal.recentAlerts(50).map((a) => a.title);
    expect(titles.some((t) => /^Model (up|down) v1 below its hit-rate floor$/.test(t))).toBe(true);
    expect([...h.bot.models!.set.slots.values()].filter((s) => !s.enabled)).toHaveLength(1); // never the last one
    // Each alert says what happened to its model: the one taken out, and the last one, which stays in.
    for (const a of h.bot.journal.recentAlerts(50).filter((x) => /below its hit-rate floor$/.test(x.title))) {
      const name = /^Model (\w+) v1/.exec(a.title)![1]!;
      if (h.bot.models!.set.slots.get(name)!.enabled) expect(a.message).toMatch(/It keeps voting: Model \w+ is the last enabled model/);
      else expect(a.message).toMatch(/Taken out of the ensemble/);
    }
  }, 60_000);

  it('the last enabled model below the floor is not said to be taken out: it keeps voting and trading', async () => {
    root = tmpModels();
    const dir = await writeTinyModel(root, { name: 'up', lean: 'up' });
    const config = {
      strategy: { name: 'model', model: dir },
      models: { dir: root, watch: false, minHitRate: 0.99, minPredictions: 5, disableBelowFloor: true },
    };
    h = await startBot({ candles: 300, config });
    const alert = h.bot.journal.recentAlerts(50).find((a) => a.title === 'Model up v1 below its hit-rate floor')!;
    expect(alert).toBeDefined();
    expect(alert.message).not.toMatch(/Taken out/);
    expect(alert.message).toMatch(/It keeps voting: Model up is the last enabled model; \/pause stops entries instead\.$/);
    expect(h.bot.models!.set.slots.get('up')!.enabled).toBe(true);
  }, 60_000);
});

describe('confidence-sized positions', () => {
  it('risk.confidenceSizing: linear sizes each ensemble entry by its confidence', async () => {
    await ensemble();
    const config = {
      strategy: { name: 'ensemble' },
      models: { dir: root, watch: false },
      risk: { sizing: 'fixed' as const, fixedQuote: 1000, confidenceSizing: 'linear' as const },
    };
    h = await startBot({ candles: 300, config });
    const entries = rows(
      h,
      "SELECT confidence, verdict_reason AS reason FROM decisions WHERE strategy = 'ensemble' AND verdict = 'accept' AND action LIKE 'enter%'",
    );
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const m = /^accepted ([\d,.]+) USDT: fixed size 1,000\.00 USDT × ([\d.]+) for confidence ([\d.]+)$/.exec(e.reason as string);
      expect(m, e.reason as string).not.toBeNull();
      const conf = e.confidence as number;
      expect(Number(m![3])).toBeCloseTo(conf, 2);
      expect(Number(m![1]!.replace(/,/g, ''))).toBeCloseTo(1000 * conf, 1);
    }
    expect(h.bot.journal.count('fills')).toBeGreaterThan(0);
  }, 60_000);
});

describe('trade confirmation of a model signal', () => {
  it('the proposal shows the confidence and each member model vote', async () => {
    await ensemble();
    const config = {
      strategy: { name: 'ensemble' },
      models: { dir: root, watch: false },
      approvals: { mode: 'always' as const, holdReplay: false },
      chat: { console: { enabled: true } },
    };
    h = await startBot({ candles: 300, config });
    const text = h.printed();
    expect(text).toMatch(/Trade proposal #\d+/);
    expect(text).toMatch(/Confidence: +\d+%/);
    expect(text).toMatch(/Votes: +up v1: (buy|sell) \d+% ×2, up2 v1: (buy|sell|hold) \d+%/);
  }, 60_000);
});

describe('hot reload in a running replay', () => {
  it('a new version is announced and used from the next candle; a broken file is refused and the old one keeps serving', async () => {
    root = tmpModels();
    await writeTinyModel(root, { name: 'm', lean: 'up', version: 2 });
    const staging = tmpModels();
    const v3dir = await writeTinyModel(staging, { name: 'm', lean: 'down', version: 3 });
    const config = { strategy: { name: 'model', model: join(root, 'm') }, models: { dir: root }, data: { speed: 60 * 200 } };
    h = await startBot({ candles: 3000, config, waitForReplay: false });
    const bot = h.bot;
    await until(() => count(h!, '1') > 20);
    for (const f of ['model.onnx', 'golden.json', 'manifest.json']) writeFileSync(join(root, 'm', f), readFileSync(join(v3dir, f)));
    await until(() => bot.journal.recentAlerts(20).some((a) => a.title === 'Model m v3 loaded, replaced v2'));
    await until(() => count(h!, 'version = 3') > 5);
    const swapTs = rows(h, 'SELECT MIN(ts) AS ts FROM model_predictions WHERE version = 3')[0]!.ts as number;
    // From the first v3 prediction on, no v2 one: the swap landed between two candles.
    expect(rows(h, `SELECT COUNT(*) AS n FROM model_predictions WHERE version = 2 AND ts >= ${swapTs}`)[0]!.n).toBe(0);
    expect(rows(h, `SELECT COUNT(*) AS n FROM model_predictions WHERE version = 2`)[0]!.n).toBeGreaterThan(0);

    writeFileSync(join(root, 'm', 'model.onnx'), Buffer.from('garbage'));
    await until(() => bot.journal.recentAlerts(20).some((a) => a.title === 'Model m: new files refused'));
    const refusal = bot.journal.recentAlerts(20).find((a) => a.title === 'Model m: new files refused')!;
    expect(refusal.message).toMatch(/sha256.*; v3 keeps serving\.$/s);
    const n = rows(h, 'SELECT COUNT(*) AS n FROM model_predictions WHERE version = 3')[0]!.n as number;
    await until(() => (rows(h!, 'SELECT COUNT(*) AS n FROM model_predictions WHERE version = 3')[0]!.n as number) > n + 5);
    expect(rows(h, "SELECT type, version, previous FROM model_events WHERE type != 'loaded' ORDER BY id")).toEqual([
      { type: 'replaced', version: 3, previous: 2 },
      { type: 'refused', version: 3, previous: null },
    ]);
  }, 60_000);
});
