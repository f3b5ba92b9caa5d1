// Models in `skipper select --candidates DIR`: each backtested through the kernel and judged by the golden
// rules, the passers written to the ensemble file (and judged as an ensemble).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { runSkipper } from '../helpers/cli.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { ensembleSchema } from '../../src/models/ensemble.ts';
import { ensembleOf, modelFolders } from '../../src/research/model-candidates.ts';
import type { Executor, JobOutcome } from '../../src/research/jobs.ts';

let dir: string;
let csv: string;
let config: string;

const skipper = (args: string[]) => runSkipper(args, dir);

const model = (root: string, name: string): void => {
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'manifest.json'), '{}');
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skipper-select-models-'));
  csv = join(dir, 'btc_1h.csv');
  await generateCsv(csv, 24 * 30, 21, { timeframe: '1h', startTs: Date.UTC(2024, 0, 1), volatility: 0.01 });
  config = join(dir, 'c.yaml');
  writeFileSync(config, 'market: { timeframe: 1h, symbols: [BTC/USDT] }\n');
});

describe('skipper select --candidates with model folders', () => {
  it('finds model folders (models/<name>/manifest.json), or the folder itself', () => {
    const root = join(dir, 'models-a');
    model(root, 'lgbm');
    model(root, 'mlp');
    mkdirSync(join(root, 'not-a-model'));
    expect(modelFolders(root)).toEqual([join(root, 'lgbm'), join(root, 'mlp')]);
    expect(modelFolders(join(root, 'mlp'))).toEqual([join(root, 'mlp')]);
  });

  it('a model trained on another timeframe than the config is refused with the reason, nothing ranked', async () => {
    const root = join(dir, 'models-tf');
    cpSync(join(PROJECT_ROOT, 'test/fixtures/models', 'torch-mlp'), join(root, 'torch-mlp'), { recursive: true });
    const file = join(root, 'torch-mlp', 'manifest.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), timeframe: '1m' }));
    const r = await skipper(['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'tf.db', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/torch-mlp\/manifest\.json: timeframe: trained on 1m candles, run on 1h: /);
  });

  it('a folder of models: each is backtested through the kernel, ranked by the rules, and the passers make the ensemble file', async () => {
    const root = join(dir, 'models-b');
    for (const m of ['torch-mlp', 'torch-policy'])
      cpSync(join(PROJECT_ROOT, 'test/fixtures/models', m), join(root, m), { recursive: true });
    const args = ['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'sel.db', '--objective', 'return'];
    const r = await skipper([...args, '--rules', 'max_drawdown<=1', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as {
      verdicts: unknown[];
      models: {
        verdicts: Array<{ candidate: string; passed: boolean; objective: number; figures: { metrics: { trades: number } } }>;
        ensemble: { file: string; members: Array<{ model: string; weight: number }>; verdict: { candidate: string; passed: boolean } };
      };
    };
    expect(out.verdicts).toEqual([]);
    const v = out.models.verdicts;
    expect(v.map((x) => x.candidate).sort()).toEqual(['model torch-mlp v1', 'model torch-policy v1']);
    expect(v.every((x) => x.passed)).toBe(true);
    expect(v[0]!.objective).toBeGreaterThanOrEqual(v[1]!.objective); // ranked
    expect(v.some((x) => x.figures.metrics.trades > 0)).toBe(true); // the policy (position inputs) runs per candle
    const file = join(root, 'ensemble.json');
    expect(out.models.ensemble.file).toBe(file);
    const written = ensembleSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(written.members.map((m) => m.model).sort()).toEqual(['torch-mlp', 'torch-policy']);
    expect(written.members.reduce((a, m) => a + m.weight, 0)).toBeCloseTo(1, 3);
    expect(out.models.ensemble.verdict.candidate).toBe('ensemble of 2 (weighted)');

    // The table; none passes: no ensemble written, the previous file stays.
    const none = await skipper([...args, '--rules', 'sharpe>=100']);
    expect(none.code, none.err).toBe(0);
    expect(none.out).toMatch(/model torch-(mlp|policy) v1 .*fail: sharpe>=100/);
    expect(none.out).toContain('no model passes every rule: no ensemble file written');
    expect(ensembleSchema.parse(JSON.parse(readFileSync(file, 'utf8')))).toEqual(written);
  }, 120_000);

  it('models beside config overlays: both are judged', async () => {
    const root = join(dir, 'models-c');
    cpSync(join(PROJECT_ROOT, 'test/fixtures/models/torch-mlp'), join(root, 'torch-mlp'), { recursive: true });
    writeFileSync(join(root, 'ema.yaml'), 'strategy: { name: ema-cross }\n');
    const r = await skipper(['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'sel2.db', '--workers', '1']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('ema');
    expect(r.out).toContain('model torch-mlp v1');
    // Ranked by sharpe (the default objective): sharpe is the objective column, not a second one.
    expect(r.out).toMatch(/^# +candidate +sharpe +CAGR +max DD +win rate +trades +verdict$/m);
    expect(r.out).toMatch(/^# +model +sharpe +CAGR +max DD +win rate +trades +verdict$/m);
  }, 60_000);

  it('a broken model folder: exits 1 naming the folder and the reason', async () => {
    const root = join(dir, 'models-d');
    model(root, 'lgbm');
    const r = await skipper(['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'sel3.db']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(join(root, 'lgbm'));
  }, 60_000);
});

describe('skipper backtest --config with a model strategy', () => {
  it('runs the config through the kernel with its models (a policy per candle), and says which', async () => {
    const cfg = join(dir, 'ens.yaml');
    const fx = join(PROJECT_ROOT, 'test/fixtures/models');
    writeFileSync(
      cfg,
      `market: { timeframe: 1h, symbols: [BTC/USDT] }\nstrategy: { name: ensemble, models: [${fx}/torch-mlp, ${fx}/torch-policy], minConfidence: 0.3 }\n`,
    );
    const r = await skipper(['backtest', '--config', cfg, '--data', csv, '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { strategy: string; bars: number; models: Array<{ name: string; perCandle: boolean }> };
    expect(out.strategy).toBe('ensemble');
    expect(out.bars).toBeGreaterThan(600);
    expect(out.models).toEqual([
      { name: 'torch-mlp', version: 1, perCandle: false },
      { name: 'torch-policy', version: 1, perCandle: true },
    ]);
  }, 60_000);
});

describe('/backtest of a bot running a model strategy', () => {
  it('the chat worker runs the model config (it named the strategy unknown before)', async () => {
    const { default: run } = await import('../../src/research/chat-worker.ts');
    const { parseConfig } = await import('../../src/config/load.ts');
    const fx = join(PROJECT_ROOT, 'test/fixtures/models');
    const config = parseConfig({
      market: { timeframe: '1h', symbols: ['BTC/USDT'] },
      strategy: { name: 'model', model: `${fx}/torch-mlp` },
    });
    const r = await run({ kind: 'backtest', config, data: { 'BTC/USDT': csv }, days: 20, changes: '' });
    expect(r.error).toBeUndefined();
    expect(r.text).toMatch(/BTC\/USDT 1h, model/);
  }, 60_000);
});

describe('a sweep pool given a model config', () => {
  it('runs it and returns the same result as one run in this thread (from the sources too, where a worker cannot import() the model runner)', async () => {
    const { parseConfig } = await import('../../src/config/load.ts');
    const { createPoolExecutor, InlineExecutor } = await import('../../src/research/jobs.ts');
    const fx = join(PROJECT_ROOT, 'test/fixtures/models');
    const job = {
      runId: 'm1',
      config: parseConfig({ market: { timeframe: '1h', symbols: ['BTC/USDT'] }, strategy: { name: 'model', model: `${fx}/torch-mlp` } }),
      data: { 'BTC/USDT': csv },
    };
    const outcomes = async (ex: Executor) => {
      const got: JobOutcome[] = [];
      try {
        await ex.run([job], (o) => got.push(o));
      } finally {
        await ex.close();
      }
      return got;
    };
    const [pooled] = await outcomes(await createPoolExecutor(2));
    const [inline] = await outcomes(new InlineExecutor());
    expect(pooled!.error).toBeUndefined();
    expect(pooled!.result!.final_equity).toBe(inline!.result!.final_equity);
    expect(pooled!.result!.metrics.trades).toBeGreaterThan(0);
  }, 60_000);
});

describe('the ensemble file from the passing models', () => {
  it('weights by the objective share, valid against the ensemble schema', () => {
    const e = ensembleOf([
      { model: 'lgbm', objective: 3 },
      { model: 'mlp', objective: 1 },
    ]);
    expect(ensembleSchema.parse(e)).toEqual(e);
    expect(e.members).toEqual([
      { model: 'lgbm', weight: 0.75 },
      { model: 'mlp', weight: 0.25 },
    ]);
    expect(
      ensembleOf([
        { model: 'a', objective: -1 },
        { model: 'b', objective: Number.NaN },
      ]).members.map((m) => m.weight),
    ).toEqual([0.5, 0.5]);
    expect(() => ensembleOf([])).toThrow('no model passes every rule');
  });
});
