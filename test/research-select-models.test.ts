// Models in `skipper select --candidates DIR`: found, named and refused with the reason (they cannot
// be backtested before the kernel wires the model strategy in); the ensemble file from passing models.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import { generateCsv } from '../src/market/generator.ts';
import { ensembleSchema } from '../src/models/ensemble.ts';
import { ensembleOf, modelFolders } from '../src/research/model-candidates.ts';

let dir: string;
let csv: string;
let config: string;

function skipper(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'skipper.js'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

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

  it('a folder of models only: exits 1 naming them and why, and writes no results', async () => {
    const root = join(dir, 'models-b');
    model(root, 'lgbm');
    const r = await skipper(['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'sel.db']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--candidates ${root}: 1 model folder(s) (lgbm): model candidates cannot be backtested yet`);
    expect(existsSync(join(dir, 'sel.db'))).toBe(false);
  }, 60_000);

  it('models beside config overlays: the overlays are judged, each model is named as not evaluated', async () => {
    const root = join(dir, 'models-c');
    model(root, 'lgbm');
    writeFileSync(join(root, 'ema.yaml'), 'strategy: { name: ema-cross }\n');
    const r = await skipper(['select', '--config', config, '--data', csv, '--candidates', root, '--results', 'sel2.db', '--workers', '1']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('ema');
    expect(r.err).toContain(`not evaluated: ${join(root, 'lgbm')}: model candidates cannot be backtested yet`);
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
