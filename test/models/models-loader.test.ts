// The loader refuses every kind of bad model with the file and the field, and accepts the committed ones
// (including the PyTorch-exported SB3-shaped policy with auto-named outputs) unchanged.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { loadModel, readManifest } from '../../src/models/loader.ts';
import { manifestSchema, type ManifestInput } from '../../src/models/manifest.ts';
import { ModelError } from '../../src/models/model.ts';
import { tmpModels, TINY_FEATURES, writeTinyModel } from '../helpers/models.ts';

const root = tmpModels();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const refusal = async (dir: string): Promise<ModelError> => {
  try {
    const m = await loadModel(dir);
    m.retire();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error(`${dir} was accepted`);
};

const base = (): ManifestInput => ({
  schemaVersion: 1,
  name: 'm',
  version: 1,
  kind: 'classifier',
  sha256: 'a'.repeat(64),
  input: { name: 'input', dtype: 'float32', shape: ['batch', 3] },
  outputs: [{ role: 'probabilities', name: 'probabilities' }],
  actions: ['short', 'flat', 'long'],
  features: TINY_FEATURES,
  label: { horizon: 5, target: 'direction', threshold: 0.001 },
});
const problems = (m: unknown): string[] => {
  const r = manifestSchema.safeParse(m);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('manifest', () => {
  it('accepts a valid manifest; short/flat/long map onto sell/hold/buy; defaults filled in', () => {
    const r = manifestSchema.parse(base());
    expect(r.actions).toEqual(['sell', 'hold', 'buy']);
    expect(r.normalization).toEqual({ kind: 'none' });
    expect(r.observation.extra).toEqual([]);
  });

  it('names the field of each problem', () => {
    expect(
      problems({
        ...base(),
        features: [...TINY_FEATURES, { name: 'x', fn: 'vibes', window: 3 }],
        input: { ...base().input, shape: ['batch', 4] },
      }),
    ).toEqual([expect.stringMatching(/^features\.3\.fn: unknown feature "vibes"/)]);
    expect(problems({ ...base(), input: { name: 'input', shape: [1, 5] } })).toEqual([
      'input.shape.1: 5 inputs, but the manifest has 3 features + 0 extra fields',
    ]);
    expect(problems({ ...base(), outputs: [{ role: 'value', name: 'v' }] })).toEqual([
      'outputs: a classifier needs an output with role probabilities or logits or label',
    ]);
    expect(problems({ ...base(), actions: ['sell', 'maybe', 'buy'] })).toEqual([
      'actions.1: "maybe" is not one of sell/hold/buy (short/flat/long)',
    ]);
    expect(problems({ ...base(), features: [TINY_FEATURES[0], TINY_FEATURES[0], TINY_FEATURES[1]] })).toEqual([
      'features.1.name: duplicate feature name "ret_1"',
    ]);
    expect(problems({ ...base(), sha256: 'xyz' })[0]).toMatch(/^sha256: /);
    expect(problems({ ...base(), schemaVersion: 2 })[0]).toMatch(/^schemaVersion: /);
    expect(problems({ ...base(), normalization: { kind: 'standardize', mean: [0], var: [1, 1, 1] } })).toEqual([
      'normalization.mean: has 1 values, expected 3',
    ]);
  });
});

describe('loader: bad input is refused with the file and the field', () => {
  it('loads a good model and its golden vector passes', async () => {
    const m = await loadModel(await writeTinyModel(root, { name: 'good' }));
    expect(m.label).toBe('good v1');
    const p = await m.predict([0.003, 0.5, 0.2]);
    expect(p.action).toBe('buy');
    expect(p.dist.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    m.retire();
  });

  it('missing folder, manifest or model file', async () => {
    expect((await refusal(join(root, 'nowhere'))).message).toMatch(/nowhere\/manifest\.json: file: missing$/);
    const dir = await writeTinyModel(root, { name: 'no-onnx' });
    rmSync(join(dir, 'model.onnx'));
    expect((await refusal(dir)).message).toMatch(/no-onnx\/model\.onnx: file: missing$/);
  });

  it('a manifest that is not JSON, or names an unknown feature', async () => {
    const dir = await writeTinyModel(root, { name: 'bad-json' });
    writeFileSync(join(dir, 'manifest.json'), '{"schemaVersion": 1,');
    expect((await refusal(dir)).message).toMatch(/bad-json\/manifest\.json: json: not valid JSON/);
    const dir2 = await writeTinyModel(root, { name: 'unknown-feature' }, (m) => {
      m.features = [TINY_FEATURES[0]!, { name: 'moon', fn: 'moon_phase' }, TINY_FEATURES[2]!];
    });
    const e = await refusal(dir2);
    expect(e.file).toMatch(/unknown-feature\/manifest\.json$/);
    expect(e.field).toBe('features.1.fn');
    expect(e.message).toMatch(/unknown feature "moon_phase"/);
  });

  it('a file whose sha256 differs from the manifest (replaced or half-written)', async () => {
    const dir = await writeTinyModel(root, { name: 'half' });
    const bytes = readFileSync(join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'model.onnx'), bytes.subarray(0, bytes.length >> 1));
    const e = await refusal(dir);
    expect(e.field).toBe('sha256');
    expect(e.message).toMatch(/half\/model\.onnx: sha256: is [0-9a-f]{12}…, the manifest says/);
  });

  it('a corrupt file (garbage with a matching sha256)', async () => {
    const dir = await writeTinyModel(root, { name: 'garbage' }, (m) => {
      m.sha256 = '4f9f8a33bc1e1a1b1fb4c7f5cde3e1d8c1a0ab0bd7f0d3b1b1a6b9f5f3c2e1d0';
    });
    const junk = Buffer.from('this is not a protobuf at all \u0000\u0001\u0002 just text');
    writeFileSync(join(dir, 'model.onnx'), junk);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.sha256 = (await import('../../src/models/loader.ts')).sha256Hex(junk);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const e = await refusal(dir);
    expect(e.file).toMatch(/garbage\/model\.onnx$/);
    expect(e.message).toMatch(/not an ONNX model|onnxruntime refused it|opset/);
  });

  it('a wrong opset', async () => {
    const e = await refusal(await writeTinyModel(root, { name: 'opset', opset: 99 }));
    expect(e.field).toBe('opset_import');
    expect(e.message).toMatch(/opset 99 is outside what onnxruntime 1\.30 runs \(7–25\)/);
  });

  it('inputs that disagree with the graph: name, width, dtype', async () => {
    const name = await refusal(await writeTinyModel(root, { name: 'in-name' }, (m) => void (m.input.name = 'obs')));
    expect(name.field).toBe('input.name');
    expect(name.message).toMatch(/the graph's input is "input", the manifest says "obs"/);
    const width = await refusal(
      await writeTinyModel(root, { name: 'in-width' }, (m) => {
        m.features = [...TINY_FEATURES, { name: 'atr', fn: 'atr', window: 3 }];
        m.input.shape = ['batch', 4];
      }),
    );
    expect(width.field).toBe('input.shape');
    expect(width.message).toMatch(/the graph takes 3 values per row, the manifest's features and extra fields make 4/);
    const dtype = await refusal(await writeTinyModel(root, { name: 'in-dtype' }, (m) => void (m.input.dtype = 'float64')));
    expect(dtype.field).toBe('input.dtype');
  });

  it('outputs that are not in the graph, or have another number of classes', async () => {
    const missing = await refusal(
      await writeTinyModel(root, { name: 'out-name' }, (m) => void (m.outputs = [{ role: 'probabilities', name: 'probs' }])),
    );
    expect(missing.field).toBe('outputs.0');
    expect(missing.message).toMatch(/no graph output "probs".*the graph has probabilities/);
    const classes = await refusal(await writeTinyModel(root, { name: 'out-classes' }, (m) => void (m.actions = ['sell', 'buy'])));
    expect(classes.message).toMatch(/has 3 classes, the manifest maps 2 actions/);
  });

  it('NaN outputs: the golden check refuses the model; at run time predict rejects, so nothing trades on it', async () => {
    const dir = await writeTinyModel(root, { name: 'nan', holdBias: NaN });
    const e = await refusal(dir);
    expect(e.message).toMatch(/nan\/model\.onnx: outputs\.probabilities: the model returned NaN/);
    const m = await loadModel(dir, { golden: false });
    await expect(m.predict([0.001, 0.5, 0])).rejects.toThrow(/outputs\.probabilities: the model returned NaN/);
    await expect(m.predict([NaN, 0.5, 0])).rejects.toThrow(/input\[0\]: feature "ret_1" is NaN/);
    m.retire();
  });

  it('a golden file the model no longer matches', async () => {
    const dir = await writeTinyModel(root, { name: 'drift' });
    const g = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8'));
    g.rows[2].outputs.probabilities[0] += 0.01;
    writeFileSync(join(dir, 'golden.json'), JSON.stringify(g));
    const e = await refusal(dir);
    expect(e.file).toMatch(/drift\/golden\.json$/);
    expect(e.field).toBe('rows.2.outputs.probabilities');
  });
});

describe('golden decisions: the manifest decodes the golden outputs as the training run did', () => {
  const copy = (name: string, as: string): string => {
    const dir = join(root, as);
    cpSync(join(PROJECT_ROOT, 'models', name), dir, { recursive: true });
    return dir;
  };
  const editJson = (file: string, edit: (j: Record<string, unknown>) => void): void => {
    const j = JSON.parse(readFileSync(file, 'utf8'));
    edit(j);
    writeFileSync(file, JSON.stringify(j));
  };

  it('a reversed action map is refused, naming the rows whose action flips', async () => {
    const dir = await writeTinyModel(root, { name: 'reversed', lean: 'up' }, (m) => void (m.actions = ['buy', 'hold', 'sell']));
    const e = await refusal(dir);
    expect(e.file).toMatch(/reversed\/manifest\.json$/);
    expect(e.field).toBe('actions');
    expect(e.message).toMatch(
      /golden rows decode unlike the training run \(golden\.json\): rows\.\d+ \(candle \d+\) decodes to (buy|sell), the training run decided (sell|buy)/,
    );
    expect(e.message).toMatch(/actions \["buy","hold","sell"\] is not what the model was trained with \(reversed or edited\?/);
  });

  it('the shipped btc-mlp with its map reversed is refused although every golden row decides hold (its probabilities show it)', async () => {
    const dir = copy('btc-mlp', 'swapact');
    editJson(join(dir, 'manifest.json'), (m) => void (m.actions = ['buy', 'hold', 'sell']));
    const e = await refusal(dir);
    expect(e.field).toBe('actions');
    expect(e.message).toMatch(
      /25 of 25 golden rows decode unlike the training run .*rows\.0 \(candle 60\) decodes to sell\/hold\/buy 0\.2893\/0\.4156\/0\.2951, the training run had 0\.2951\/0\.4156\/0\.2893/,
    );
    // The same map in other words (short/flat/long) is the true one: it loads.
    const same = copy('btc-mlp', 'synonyms');
    editJson(join(same, 'manifest.json'), (m) => void (m.actions = ['short', 'flat', 'long']));
    (await loadModel(same)).retire();
  });

  it('a regressor whose threshold was edited is refused on label.threshold', async () => {
    const dir = copy('btc-ridge', 'threshold');
    editJson(join(dir, 'manifest.json'), (m) => void ((m.label as { threshold: number }).threshold *= 10));
    const e = await refusal(dir);
    expect(e.field).toBe('label.threshold');
    expect(e.message).toMatch(/decodes to hold, the training run decided sell/);
  });

  it('a golden file without decisions (an older export) still loads, with a note; one with some rows stamped is refused', async () => {
    const dir = await writeTinyModel(root, { name: 'old-golden', lean: 'up' });
    const file = join(dir, 'golden.json');
    const stamped = readFileSync(file, 'utf8');
    editJson(file, (g) => {
      for (const r of g.rows as Array<Record<string, unknown>>) {
        delete r.action;
        delete r.dist;
      }
    });
    const m = await loadModel(dir);
    expect(m.goldenNote).toMatch(
      /old-golden\/golden\.json carries no decided actions \(an older export\): the manifest's actions and thresholds are not checked/,
    );
    m.retire();
    writeFileSync(file, stamped);
    const full = await loadModel(dir);
    expect(full.goldenNote).toBeNull();
    full.retire();
    editJson(file, (g) => void delete (g.rows as Array<Record<string, unknown>>)[4]!.action);
    const e = await refusal(dir);
    expect(e.field).toBe('rows.4.action');
    expect(e.message).toMatch(/missing, while 24 other rows carry the training run's action \(all rows or none\)/);
  });
});

describe('timeframe: a model runs only on the candles it was trained on', () => {
  it('a manifest naming another timeframe is refused before any ONNX work; the same one, or none, loads', async () => {
    const dir = await writeTinyModel(root, { name: 'minutely' }, (m) => void (m.timeframe = '1m'));
    const e = await (async () => {
      try {
        (await loadModel(dir, { timeframe: '1h' })).retire();
      } catch (err) {
        return err as ModelError;
      }
      throw new Error('accepted');
    })();
    expect(e).toBeInstanceOf(ModelError);
    expect(e.file).toMatch(/minutely\/manifest\.json$/);
    expect(e.field).toBe('timeframe');
    expect(e.message).toMatch(
      /timeframe: trained on 1m candles, run on 1h: its features and 5-bar label horizon would span other lengths of time; use 1m candles or a model trained on 1h$/,
    );
    (await loadModel(dir, { timeframe: '1m' })).retire();
    (await loadModel(await writeTinyModel(root, { name: 'any-tf' }), { timeframe: '1h' })).retire();
  });

  it('a timeframe that is not one the bot knows is refused in the manifest', () => {
    expect(problems({ ...base(), timeframe: 'hourly' })).toEqual([expect.stringMatching(/^timeframe: .*"1m".*"1h"/)]);
    expect(problems({ ...base(), timeframe: '1h' })).toEqual([]);
  });
});

describe('committed models', () => {
  const roots = [join(PROJECT_ROOT, 'models'), join(PROJECT_ROOT, 'test', 'fixtures', 'models')];
  const dirs = roots
    .flatMap((r) => (existsSync(r) ? readdirSync(r).map((d) => join(r, d)) : []))
    .filter((d) => existsSync(join(d, 'manifest.json')));

  it.each(dirs.map((d) => [d.slice(PROJECT_ROOT.length + 1), d]))(
    '%s loads: sha256, graph and golden outputs (≤ 1e-4)',
    async (_label, dir) => {
      const m = await loadModel(dir);
      expect(m.manifest.name).toBe(dir.split('/').pop());
      m.retire();
    },
  );

  it('the PyTorch-exported SB3-shaped policy loads unchanged: int64 actions, value, log_prob by index', async () => {
    const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'torch-policy');
    const manifest = readManifest(dir);
    expect(manifest.kind).toBe('policy');
    expect(manifest.outputs.every((o) => o.name === undefined && o.index !== undefined)).toBe(true);
    const m = await loadModel(dir);
    expect(m.session.outputNames).toHaveLength(3);
    const p = await m.predict(new Array(manifest.features.length).fill(0), { position: 1, unrealized_pnl: 0.01 });
    expect(['sell', 'hold', 'buy']).toContain(p.action);
    expect(p.confidence).toBeGreaterThan(0);
    expect(p.confidence).toBeLessThanOrEqual(1);
    expect(typeof p.value).toBe('number');
    m.retire();
  });
});

describe('lazy loading', () => {
  it('onnxruntime-node, protobufjs and the trainer load only when a model is used: no static import from the CLI or src/models', () => {
    const eager = /^import (?!type)[^;]*from ['"](onnxruntime-node|onnxruntime-common|protobufjs[^'"]*|[./]*training\/[^'"]*)['"]/m;
    const files = [
      'src/cli/main.ts',
      'src/cli/models.ts',
      ...readdirSync(join(PROJECT_ROOT, 'src', 'models')).map((f) => `src/models/${f}`),
    ];
    for (const f of files) expect(readFileSync(join(PROJECT_ROOT, f), 'utf8'), f).not.toMatch(eager);
  });
});
