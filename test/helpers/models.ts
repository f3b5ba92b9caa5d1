// Tiny model folders for the model tests: a hand-set softmax classifier on three features, written with the
// trainer's ONNX writer and golden builder (milliseconds, no training).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candle } from '../../src/core/types.ts';
import { generateCandles } from '../../src/market/generator.ts';
import type { FeatureSpec } from '../../src/models/features.ts';
import { sha256Hex } from '../../src/models/loader.ts';
import type { ManifestInput } from '../../src/models/manifest.ts';
import { argmaxAction } from '../../src/models/model.ts';
import { decodeOnnx, encodeOnnx } from '../../src/models/onnx-proto.ts';
import { predictProba, type Classifier } from '../../training/fit.ts';
import { classifierOnnx } from '../../training/onnx-graphs.ts';
import { goldenFor, type GoldenDecision } from '../../training/train.ts';

export const TINY_FEATURES: FeatureSpec[] = [
  { name: 'ret_1', fn: 'ret', window: 1 },
  { name: 'rsi_5', fn: 'rsi', window: 5 },
  { name: 'body', fn: 'body' },
];

/** How a tiny model leans: 'up' buys after a rising candle and sells after a falling one, 'down' the opposite, 'hold' never trades. */
export type Lean = 'up' | 'down' | 'hold';

export interface TinyOptions {
  name?: string;
  version?: number;
  lean?: Lean;
  /** Logit scale on ret_1 (default 2000: ±0.2 % → ±4). */
  strength?: number;
  /** Overwrite the hold bias (NaN makes every output NaN). */
  holdBias?: number;
  opset?: number;
}

/** A tiny classifier's golden row: classes are sell, hold, buy, so the probabilities are by action. */
const decided = (p: number[]): GoldenDecision => ({ raw: { probabilities: p }, action: argmaxAction(p), dist: p });

export const tmpModels = (): string => mkdtempSync(join(tmpdir(), 'skipper-models-'));

export const testCandles = (n = 200, seed = 3): Candle[] => generateCandles({ count: n, seed, startTs: Date.UTC(2025, 0, 1) });

export function tinyClassifier(o: TinyOptions = {}): Classifier {
  const s = o.strength ?? 2000;
  const sign = o.lean === 'down' ? -1 : o.lean === 'hold' ? 0 : 1;
  // Columns: sell, hold, buy. Rows: ret_1, rsi_5, body.
  const w1 = Float64Array.from([-s * sign, 0, s * sign, 0, 0, 0, 0, 0, 0].map(Math.fround));
  const b1 = Float64Array.from([0, o.holdBias ?? (o.lean === 'hold' ? 5 : 1), 0].map(Math.fround));
  return { w1, b1, w2: new Float64Array(0), b2: new Float64Array(0), inputs: 3, hidden: 0, classes: 3 };
}

/** Writes models/<name>/{model.onnx, golden.json, manifest.json} (manifest last) and returns the folder. */
export async function writeTinyModel(root: string, o: TinyOptions = {}, patch: (m: ManifestInput) => void = () => {}): Promise<string> {
  const name = o.name ?? 'tiny';
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const c = tinyClassifier(o);
  let bytes = await classifierOnnx(name, c);
  if (o.opset !== undefined) {
    const m = await decodeOnnx(bytes);
    m.opset_import = [{ domain: '', version: o.opset }];
    bytes = await encodeOnnx(m);
  }
  // A NaN model keeps a sane golden file: the check must catch the outputs, not the file.
  const ref = Number.isNaN(o.holdBias) ? tinyClassifier({ ...o, holdBias: 1 }) : c;
  const golden = goldenFor(testCandles(80, 11), TINY_FEATURES, (f) => decided(predictProba(ref, f)));
  const manifest: ManifestInput = {
    schemaVersion: 1,
    name,
    version: o.version ?? 1,
    kind: 'classifier',
    sha256: sha256Hex(bytes),
    input: { name: 'input', dtype: 'float32', shape: ['batch', 3] },
    outputs: [{ role: 'probabilities', name: 'probabilities' }],
    actions: ['sell', 'hold', 'buy'],
    features: TINY_FEATURES,
    normalization: { kind: 'none' },
    label: { horizon: 5, target: 'direction', threshold: 0.001 },
    metrics: { hit_rate: 0.5 },
  };
  patch(manifest);
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'golden.json'), JSON.stringify(golden));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/**
 * A model reading its position (observation.extra: position): buys when flat, sells when long, so every
 * candle flips — it trades only if it really sees its position change. Runs per candle in backtests.
 */
export async function writePositionFlipper(root: string, name = 'flipper'): Promise<string> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  // Columns: sell, hold, buy. Rows: ret_1, rsi_5, body, position.
  const w1 = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, -10].map(Math.fround));
  const b1 = Float64Array.from([-5, 0, 5].map(Math.fround));
  const c: Classifier = { w1, b1, w2: new Float64Array(0), b2: new Float64Array(0), inputs: 4, hidden: 0, classes: 3 };
  const bytes = await classifierOnnx(name, c);
  const golden = goldenFor(testCandles(80, 11), TINY_FEATURES, (f) => decided(predictProba(c, [...f, 0])));
  const manifest: ManifestInput = {
    schemaVersion: 1,
    name,
    version: 1,
    kind: 'classifier',
    sha256: sha256Hex(bytes),
    input: { name: 'input', dtype: 'float32', shape: ['batch', 4] },
    outputs: [{ role: 'probabilities', name: 'probabilities' }],
    actions: ['sell', 'hold', 'buy'],
    features: TINY_FEATURES,
    observation: { extra: ['position'] },
    normalization: { kind: 'none' },
    label: { horizon: 1, target: 'direction', threshold: 0.001 },
    metrics: {},
  };
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'golden.json'), JSON.stringify(golden));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}
