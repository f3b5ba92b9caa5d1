// Model strategies in backtests (batched inference ahead of the loop, same outputs as one at a time), the CLI,
// and onnxruntime-node loading only when a model strategy is configured.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { batchPredictions, PredictionTrack } from '../../src/models/backtest.ts';
import type { ModelPrediction } from '../../src/models/model.ts';
import { FeaturePipeline } from '../../src/models/features.ts';
import { loadModel } from '../../src/models/loader.ts';
import { tempDir } from '../helpers/harness.ts';
import { testCandles, tmpModels, writePositionFlipper, writeTinyModel } from '../helpers/models.ts';

let root: string;
let dir: string;
beforeAll(async () => {
  root = tmpModels();
  dir = tempDir();
  await writeTinyModel(root, { name: 'up', lean: 'up' });
  await writeTinyModel(root, { name: 'down', lean: 'down', strength: 500 });
  await writePositionFlipper(root);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('batched inference', () => {
  it.each(['btc-mlp', 'btc-ridge', 'btc-logreg'])('%s: batched predictions equal one-at-a-time predictions', async (name) => {
    const model = await loadModel(join(PROJECT_ROOT, 'models', name));
    const candles = testCandles(600, 5);
    const batched = await batchPredictions(model, candles);
    const pipe = new FeaturePipeline(model.manifest.features);
    let n = 0;
    for (const c of candles) {
      if (!pipe.update(c)) {
        expect(batched.has(c.ts)).toBe(false);
        continue;
      }
      const one = await model.predict(pipe.values);
      const b = batched.get(c.ts)!;
      expect(b.action).toBe(one.action);
      expect(b.confidence).toBeCloseTo(one.confidence, 6);
      for (let k = 0; k < 3; k++) expect(b.dist[k]).toBeCloseTo(one.dist[k]!, 6);
      n++;
    }
    expect(n).toBeGreaterThan(400);
    expect(batched.size).toBe(n);
    model.retire();
  });
});

describe('PredictionTrack', () => {
  it('answers by candle time in order, out of order, and not at all before, between or after its candles', () => {
    const t = new PredictionTrack();
    const p = (k: number): ModelPrediction => ({
      action: 'buy',
      confidence: k / 10,
      dist: [0, 1 - k / 10, k / 10],
    });
    const times = [100, 160, 220, 280, 400];
    times.forEach((ts, k) => t.push(ts, p(k)));
    expect(t.size).toBe(5);
    expect([40, ...times].map((ts) => t.get(ts)?.confidence)).toEqual([undefined, 0, 0.1, 0.2, 0.3, 0.4]); // in order
    expect(t.get(160)?.confidence).toBe(0.1); // back
    expect(t.get(340)).toBeUndefined(); // a gap
    expect(t.get(500)).toBeUndefined(); // after the last
    expect(t.get(280)?.confidence).toBe(0.3);
    expect(t.has(100) && !t.has(101)).toBe(true);
    expect(new PredictionTrack().get(100)).toBeUndefined();
    expect(t.get(220)).toEqual(p(2)); // what interpret made, again
    const r = new PredictionTrack();
    const regression: ModelPrediction = {
      action: 'sell',
      confidence: 0.25,
      dist: [0.25, 0.375, 0.375],
      value: -0.5,
    };
    r.push(1, regression);
    expect(r.get(1)).toEqual(regression);
  });
});

describe('skipper backtest --strategy model|ensemble', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'skipper.js'), 'backtest', ...args], { encoding: 'utf8' });

  it('runs an ensemble of model folders through the engine, and a single model', async () => {
    const csv = join(dir, 'candles.csv');
    await generateCsv(csv, 1500, 4);
    const ens = cli(
      '--data',
      csv,
      '--strategy',
      'ensemble',
      '--models',
      `${root}/up,${root}/down`,
      '--vote',
      'weighted',
      '--min-confidence',
      '0.2',
      '--json',
    );
    expect(ens.status, ens.stderr).toBe(0);
    const r = JSON.parse(ens.stdout) as { strategy: string; models: string[]; vote: string; bars: number; fills: number };
    expect(r).toMatchObject({ strategy: 'ensemble', models: ['up', 'down'], vote: 'weighted', bars: 1500 });
    expect(r.fills).toBeGreaterThan(0);
    const one = cli('--data', csv, '--strategy', 'model', '--model', `${root}/up`, '--json');
    expect(one.status, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ strategy: 'model', models: ['up'] });
  }, 60_000);

  it('a model reading its position runs per candle and sees its position change (buys flat, sells long)', async () => {
    const csv = join(dir, 'flip.csv');
    await generateCsv(csv, 300, 6);
    const one = cli(
      '--data',
      csv,
      '--strategy',
      'model',
      '--model',
      `${root}/flipper`,
      '--fills-out',
      join(dir, 'flip-fills.csv'),
      '--json',
    );
    expect(one.status, one.stderr).toBe(0);
    const r = JSON.parse(one.stdout) as { per_candle: string[]; fills: number; bars: number };
    expect(r.per_candle).toEqual(['flipper']);
    expect(r.fills).toBeGreaterThan(100); // flat → buy, long → sell: a fill on (almost) every candle after warm-up
    const sides = readFileSync(join(dir, 'flip-fills.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[1]);
    sides.forEach((side, i) => expect(side).toBe(i % 2 === 0 ? 'buy' : 'sell'));
    // Beside batched members in one ensemble: the batched ones are looked up, the flipper still runs per candle.
    const ens = cli('--data', csv, '--strategy', 'ensemble', '--models', `${root}/flipper,${root}/up`, '--vote', 'vote', '--json');
    expect(ens.status, ens.stderr).toBe(0);
    expect(JSON.parse(ens.stdout)).toMatchObject({ per_candle: ['flipper'], models: ['flipper', 'up'] });
  }, 60_000);

  it('says what is missing or wrong, with a non-zero exit', async () => {
    const csv = join(dir, 'c2.csv');
    await generateCsv(csv, 200, 4);
    const a = cli('--data', csv, '--strategy', 'model');
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/--strategy model needs --model/);
    const b = cli('--data', csv, '--strategy', 'ensemble', '--models', `${root}/nope`);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toMatch(/nope/);
    const c = cli('--data', csv, '--strategy', 'ensemble', '--models', `${root}/up`, '--vote', 'loudest');
    expect(c.stderr).toMatch(/--vote: expected vote or weighted/);
    // A model trained on 1h candles on a 1m file: refused, nothing run.
    const hourly = await writeTinyModel(root, { name: 'hourly', lean: 'up' }, (m) => void (m.timeframe = '1h'));
    const d = cli('--data', csv, '--strategy', 'ensemble', '--models', `${root}/up,${hourly}`, '--json');
    expect(d.status).not.toBe(0);
    expect(d.stdout).toBe('');
    expect(d.stderr).toMatch(/hourly\/manifest\.json: timeframe: trained on 1h candles, run on 1m: /);
    const hourlyCsv = join(dir, 'c2-1h.csv');
    await generateCsv(hourlyCsv, 200, 4, { timeframe: '1h' });
    const e = cli('--data', hourlyCsv, '--strategy', 'model', '--model', hourly, '--json');
    expect(e.status, e.stderr).toBe(0);
  }, 60_000);
});

describe('onnxruntime-node loads lazily', () => {
  it('`run` with an indicator strategy never loads it; with a model strategy it does', () => {
    const script = join(dir, 'lazy.mts');
    writeFileSync(
      script,
      `import { createRequire } from 'node:module';
import { startBot } from ${JSON.stringify(join(PROJECT_ROOT, 'test/helpers/harness.ts'))};
const strategy = process.argv[2] === 'model' ? { name: 'model', model: ${JSON.stringify(join(root, 'up'))} } : { name: 'sma-cross' };
const h = await startBot({ candles: 200, config: { strategy, models: { watch: false } } });
await h.stop();
const cache = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({ ort: cache.some((k) => k.includes('onnxruntime-node')), modules: cache.length }));
process.exit(0);
`,
    );
    const run = (s: string) => {
      const p = spawnSync(process.execPath, ['--import', 'tsx', script, s], { encoding: 'utf8', cwd: PROJECT_ROOT });
      expect(p.status, p.stderr).toBe(0);
      return JSON.parse(p.stdout) as { ort: boolean; modules: number };
    };
    expect(run('model').ort).toBe(true); // the check can see it
    const plain = run('sma');
    expect(plain.modules).toBeGreaterThan(10);
    expect(plain.ort).toBe(false);
  }, 90_000);
});
