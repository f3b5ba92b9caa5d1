// The TypeScript trainer behind `skipper models train`: candles → features → labels → a small model → the
// model folder (model.onnx, manifest.json, golden.json). Reproducible: a fixed seed and no wall-clock data,
// so a rebuild from the same data writes the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Candle } from '../src/core/types.ts';
import { FeaturePipeline, type FeatureSpec } from '../src/models/features.ts';
import { sha256Hex } from '../src/models/loader.ts';
import {
  GOLDEN_FILE,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_VERSION,
  MODEL_FILE,
  manifestSchema,
  type ManifestInput,
  type ModelAction,
} from '../src/models/manifest.ts';
import { argmaxAction } from '../src/models/model.ts';
import { scoreOutcome, summarize, type Outcome } from '../src/models/outcomes.ts';
import { buildRows, DEFAULT_FEATURES, moments, readCandles, type Rows } from './dataset.ts';
import { fitClassifier, fitRidge, predictProba, toFloat32, type Classifier } from './fit.ts';
import { classifierOnnx, linearOnnx, OPSET } from './onnx-graphs.ts';

export const TRAINER_KINDS = ['logreg', 'mlp', 'ridge'] as const;
export type TrainerKind = (typeof TRAINER_KINDS)[number];
export const TRAINER_ID = 'skipper-trainer 1';
const EPS = 1e-8;

export interface TrainOptions {
  /** Candle CSVs to train on, in time order. */
  data: string[];
  /** Held-out CSVs; default: the last `testShare` of the rows. */
  test?: string[];
  testShare?: number;
  /** The model folder to write. */
  out: string;
  kind: TrainerKind;
  name?: string;
  version?: number;
  /** Label horizon in bars (default 15). */
  horizon?: number;
  seed?: number;
  features?: FeatureSpec[];
  /** Classifier epochs (default: 4 logreg, 6 mlp). */
  epochs?: number;
  hidden?: number;
}

export interface TrainResult {
  dir: string;
  sha256: string;
  metrics: Record<string, number>;
  trainRows: number;
  testRows: number;
}

interface Split {
  x: Float64Array;
  ret: Float64Array;
  n: number;
}

const concat = (parts: Rows[], width: number, from = 0, to = Infinity): Split => {
  const xs: number[] = [];
  const rs: number[] = [];
  let i = 0;
  for (const p of parts)
    for (let r = 0; r < p.length; r++, i++) {
      if (i < from || i >= to) continue;
      for (let k = 0; k < width; k++) xs.push(p.x[r * width + k]!);
      rs.push(p.ret[r]!);
    }
  return { x: Float64Array.from(xs), ret: Float64Array.from(rs), n: rs.length };
};

const sig = (x: number, digits = 3): number => Number(x.toPrecision(digits));

export async function trainModel(o: TrainOptions): Promise<TrainResult> {
  const horizon = o.horizon ?? 15;
  const seed = o.seed ?? 1;
  const specs = o.features ?? DEFAULT_FEATURES;
  const width = specs.length;
  const load = (files: string[]) =>
    files.map((f) => {
      const { candles, timeframe } = readCandles(f);
      return { file: f, rows: buildRows(candles, timeframe, specs, horizon) };
    });
  const trainFiles = load(o.data);
  const timeframe = trainFiles[0]!.rows.timeframe;
  for (const f of trainFiles)
    if (f.rows.timeframe !== timeframe) throw new Error(`${f.file}: timeframe ${f.rows.timeframe}, expected ${timeframe}`);

  let train: Split;
  let test: Split;
  let testCandles: Candle[];
  const total = trainFiles.reduce((s, f) => s + f.rows.length, 0);
  if (o.test !== undefined && o.test.length > 0) {
    const testFiles = load(o.test);
    train = concat(
      trainFiles.map((f) => f.rows),
      width,
    );
    test = concat(
      testFiles.map((f) => f.rows),
      width,
    );
    testCandles = testFiles[testFiles.length - 1]!.rows.candles;
  } else {
    const cut = Math.floor(total * (1 - (o.testShare ?? 0.3)));
    // Drop `horizon` rows before the cut: their labels look into the test period.
    train = concat(
      trainFiles.map((f) => f.rows),
      width,
      0,
      cut - horizon,
    );
    test = concat(
      trainFiles.map((f) => f.rows),
      width,
      cut,
    );
    testCandles = trainFiles[trainFiles.length - 1]!.rows.candles;
  }
  if (train.n < 100 || test.n < 20) throw new Error(`not enough data: ${train.n} training rows, ${test.n} test rows (need 100 and 20)`);

  const abs = Array.from(train.ret, Math.abs).sort((a, b) => a - b);
  let threshold = sig(abs[Math.floor(abs.length / 2)]!);
  const classOf = (r: number): number => (r < -threshold ? 0 : r > threshold ? 2 : 1);
  const { mean, var: variance } = moments(train.x, width);
  const scale = variance.map((v) => 1 / Math.sqrt(v + EPS));
  const normalize = (s: Split): Float64Array => Float64Array.from(s.x, (v, i) => (v - mean[i % width]!) * scale[i % width]!);
  const zTrain = normalize(train);
  const zTest = normalize(test);

  const name = o.name ?? basename(o.out);
  const actions: ModelAction[] = ['sell', 'hold', 'buy'];
  let bytes: Uint8Array;
  let predict: (
    z: Float64Array,
    off: number,
  ) => { raw: Record<string, number[]>; action: ModelAction; confidence: number; dist?: number[] };
  let manifestPart: Pick<ManifestInput, 'kind' | 'outputs' | 'normalization' | 'label' | 'description'> & { valueScale?: number };
  const standardize = { kind: 'standardize' as const, mean, var: variance, epsilon: EPS };

  if (o.kind === 'ridge') {
    const fit = fitRidge(zTrain, train.ret, width, 1e-3);
    const w = fit.w.map(Math.fround);
    const b = Math.fround(fit.b);
    bytes = await linearOnnx(name, w, b);
    const value = (z: Float64Array, off: number) => {
      let v = b;
      for (let k = 0; k < width; k++) v += z[off + k]! * w[k]!;
      return v;
    };
    // Predicted returns shrink towards 0: act on the strongest 10 % of the training predictions.
    const fitted = Array.from({ length: train.n }, (_, r) => Math.abs(value(zTrain, r * width))).sort((p, q) => p - q);
    threshold = sig(fitted[Math.floor(fitted.length * 0.9)]!);
    const valueScale = sig(2 * threshold);
    predict = (z, off) => {
      const v = value(z, off);
      const action: ModelAction = v > threshold ? 'buy' : v < -threshold ? 'sell' : 'hold';
      const confidence = Math.min(1, action === 'hold' ? 1 - Math.abs(v) / valueScale : Math.abs(v) / valueScale);
      return { raw: { value: [v] }, action, confidence: Math.max(0, confidence) };
    };
    manifestPart = {
      kind: 'regressor',
      description: `ridge regression of the ${horizon}-bar forward return`,
      outputs: [{ role: 'value', name: 'value' }],
      normalization: standardize,
      label: { horizon, target: 'return', threshold },
      valueScale,
    };
  } else {
    const counts = [0, 0, 0];
    const y = Int32Array.from(train.ret, (r) => {
      const c = classOf(r);
      counts[c]!++;
      return c;
    });
    const hidden = o.kind === 'mlp' ? (o.hidden ?? 16) : 0;
    const fitted = fitClassifier(zTrain, y, width, 3, {
      hidden,
      epochs: o.epochs ?? (hidden === 0 ? 4 : 6),
      batch: 256,
      lr: hidden === 0 ? 0.01 : 0.003,
      l2: 1e-4,
      seed,
      classWeights: counts.map((c) => (c > 0 ? train.n / (3 * c) : 0)),
    });
    const c: Classifier = toFloat32(fitted);
    const inGraph = o.kind === 'mlp';
    bytes = await classifierOnnx(name, c, inGraph ? { mean, scale } : undefined);
    predict = (z, off) => {
      const p = predictProba(c, z, off);
      const action = argmaxAction(p);
      // Classes are in the order of `actions` (sell, hold, buy): p is also the distribution by action.
      return { raw: { probabilities: p }, action, confidence: p[actions.indexOf(action)]!, dist: p };
    };
    manifestPart = {
      kind: 'classifier',
      description:
        hidden === 0 ? 'multinomial logistic regression (sell / hold / buy)' : `MLP ${width}→${hidden}→3, ReLU (sell / hold / buy)`,
      outputs: [{ role: 'probabilities', name: 'probabilities' }],
      normalization: inGraph ? { kind: 'in_graph' } : standardize,
      label: { horizon, target: 'direction', threshold },
    };
  }

  // Out-of-sample scores, with the same outcome scoring the bot uses live.
  const outcomes: Outcome[] = [];
  let correct = 0;
  for (let r = 0; r < test.n; r++) {
    const p = predict(zTest, r * width);
    const ret = test.ret[r]!;
    const rec = {
      model: name,
      version: 1,
      ts: r,
      action: p.action,
      confidence: p.confidence,
      horizon,
      price: 1,
      threshold,
      ...(p.dist ? { dist: p.dist } : {}),
    };
    const out = scoreOutcome(rec, 1 + ret);
    if (out.realized === p.action) correct++;
    outcomes.push(out);
  }
  const s = summarize(outcomes)[0]!;
  let meanRet = 0;
  for (let r = 0; r < test.n; r++) meanRet += test.ret[r]!;
  const metrics: Record<string, number> = {
    test_rows: test.n,
    accuracy: sig(correct / test.n, 4),
    coverage: sig(s.directional / test.n, 4),
    hit_rate: sig(s.hitRate, 4),
    mean_return: sig(s.meanReturn, 4),
    market_mean_return: sig(meanRet / test.n, 4),
  };
  if (Number.isFinite(s.brier)) metrics.brier = sig(s.brier, 4);

  const sha256 = sha256Hex(bytes);
  const trainCandles = trainFiles.flatMap((f) => [f.rows.candles[0]!, f.rows.candles[f.rows.candles.length - 1]!]);
  const manifest: ManifestInput = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    name,
    version: o.version ?? 1,
    ...manifestPart,
    sha256,
    timeframe,
    input: { name: 'input', dtype: 'float32', shape: ['batch', width] },
    actions,
    features: specs,
    training: {
      trainer: `${TRAINER_ID} (${o.kind}, opset ${OPSET})`,
      data: [...o.data, ...(o.test ?? [])].map((f) => basename(f)),
      from: new Date(Math.min(...trainCandles.map((c) => c.ts))).toISOString(),
      to: new Date(Math.max(...trainCandles.map((c) => c.ts))).toISOString(),
      rows: train.n,
      seed,
    },
    metrics,
  };
  manifestSchema.parse(manifest); // the trainer never writes a manifest the loader would refuse

  const golden = goldenFor(testCandles, specs, (features) =>
    predict(
      Float64Array.from(features, (v, k) => (v - mean[k]!) * scale[k]!),
      0,
    ),
  );
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, MODEL_FILE), bytes);
  writeFileSync(join(o.out, GOLDEN_FILE), JSON.stringify(golden) + '\n');
  writeFileSync(join(o.out, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n'); // last: it publishes the version
  return { dir: o.out, sha256, metrics, trainRows: train.n, testRows: test.n };
}

/** A trained model's raw outputs for one row and what training decided from them with its true action map. */
export interface GoldenDecision {
  raw: Record<string, number[]>;
  action: ModelAction;
  /** Probabilities by action, [sell, hold, buy] (classifiers). */
  dist?: number[];
}

/**
 * The last warm-up + 24 candles, their features from a fresh pipeline, and the reference outputs of the last
 * 24 with the decided action (and probabilities by action): the loader decodes the outputs with the manifest's
 * map and must agree, so a reversed map is refused.
 */
export function goldenFor(candles: Candle[], specs: readonly FeatureSpec[], decide: (features: Float64Array) => GoldenDecision) {
  const pipe = new FeaturePipeline(specs);
  const rowsWanted = 24;
  const window = candles.slice(Math.max(0, candles.length - pipe.warmup - rowsWanted));
  const rows: Array<{ index: number; features: number[]; outputs: Record<string, number[]>; action: ModelAction; dist?: number[] }> = [];
  window.forEach((c, i) => {
    if (!pipe.update(c)) return;
    const d = decide(pipe.values);
    rows.push({ index: i, features: Array.from(pipe.values), outputs: d.raw, action: d.action, ...(d.dist ? { dist: d.dist } : {}) });
  });
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: TRAINER_ID,
    candles: window.map((c) => [c.ts, c.open, c.high, c.low, c.close, c.volume]),
    rows,
    tolerance: { features: 1e-9, outputs: 1e-4 },
  };
}
