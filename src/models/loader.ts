// Loads one model folder and proves it before it may decide anything: the manifest (zod), the file's sha256,
// the graph's opset, its real inputs/outputs against the manifest, and the golden file (features from the
// golden candles through the TypeScript pipeline, then the model's outputs). Any failure is a ModelError
// naming the file and the field. onnxruntime-node loads on first use (like ccxt): ~80 MB and 30–170 ms.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import type { Candle, Timeframe } from '../core/types.ts';
import { FeaturePipeline } from './features.ts';
import {
  GOLDEN_FILE,
  MANIFEST_FILE,
  MODEL_FILE,
  goldenSchema,
  issueLines,
  manifestSchema,
  timeframeProblem,
  type Golden,
  type Manifest,
  type ModelAction,
  type OutputRole,
} from './manifest.ts';
import { LoadedModel, ModelError, type ModelPrediction, type Observation } from './model.ts';
import { decodeOnnx } from './onnx-proto.ts';

/** Default-domain opsets onnxruntime-node 1.30 runs (checked on this build: 26+ is refused). */
export const SUPPORTED_OPSETS = { min: 7, max: 25 } as const;

/** One thread, sequential: on 2 cores more threads made the latency tail worse. */
export const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

let ortModule: Promise<typeof import('onnxruntime-node')> | undefined;
/** onnxruntime-node, imported on first use. */
export function loadOrt(): Promise<typeof import('onnxruntime-node')> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

export interface LoadOptions {
  /** Skip the golden file (tests of broken goldens do their own checks). Default: check it. */
  golden?: boolean;
  /** The candles it will run on: a manifest naming another timeframe is refused. Default: not checked. */
  timeframe?: Timeframe;
}

const readJson = (file: string): unknown => {
  if (!existsSync(file)) throw new ModelError(file, 'file', 'missing');
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(file, 'json', `not valid JSON (${(e as Error).message})`);
  }
};

/** Reads and validates manifest.json (no ONNX work). */
export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE);
  const r = manifestSchema.safeParse(readJson(file));
  if (!r.success) {
    const lines = issueLines(r.error);
    throw new ModelError(
      file,
      lines[0]!.split(': ')[0]!,
      `${lines[0]!.split(': ').slice(1).join(': ')}${lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : ''}`,
    );
  }
  return r.data;
}

export function readGolden(dir: string): Golden {
  const file = join(dir, GOLDEN_FILE);
  const r = goldenSchema.safeParse(readJson(file));
  if (!r.success) throw new ModelError(file, issueLines(r.error)[0]!.split(': ')[0]!, issueLines(r.error).join('; '));
  return r.data;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The model file's bytes, when it is there and is the file the manifest names (its sha256). Throws a
 * ModelError. The config check (models/wire.ts) runs this much too, so it refuses what loading would.
 */
export function readModelFile(dir: string, manifest: Manifest): { file: string; bytes: Buffer } {
  const file = join(dir, MODEL_FILE);
  if (!existsSync(file) || !statSync(file).isFile()) throw new ModelError(file, 'file', 'missing');
  const bytes = readFileSync(file);
  const sha = sha256Hex(bytes);
  if (sha !== manifest.sha256)
    throw new ModelError(
      file,
      'sha256',
      `is ${sha.slice(0, 12)}…, the manifest says ${manifest.sha256.slice(0, 12)}… (file replaced, half-written, or manifest not updated)`,
    );
  return { file, bytes };
}

/** Loads and checks a model folder. Throws a ModelError; never returns a half-checked model. */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const manifest = readManifest(dir);
  const wrongTf = opts.timeframe === undefined ? null : timeframeProblem(manifest, opts.timeframe);
  if (wrongTf !== null) throw new ModelError(join(dir, MANIFEST_FILE), 'timeframe', wrongTf);
  const { file, bytes } = readModelFile(dir, manifest);

  let opset: number | undefined;
  try {
    const decoded = await decodeOnnx(bytes);
    opset = decoded.opset_import.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
    if (decoded.graph === null || decoded.graph === undefined) throw new Error('no graph');
  } catch (e) {
    throw new ModelError(file, 'file', `not an ONNX model (${(e as Error).message})`);
  }
  if (opset === undefined) throw new ModelError(file, 'opset_import', 'no default-domain (ai.onnx) opset');
  if (opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max)
    throw new ModelError(
      file,
      'opset_import',
      `opset ${opset} is outside what onnxruntime 1.30 runs (${SUPPORTED_OPSETS.min}–${SUPPORTED_OPSETS.max})`,
    );

  const ort = await loadOrt();
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (e) {
    throw new ModelError(file, 'graph', `onnxruntime refused it: ${firstLine(e)}`);
  }
  let model: LoadedModel;
  try {
    const outputNames = checkGraph(session, manifest, file);
    model = new LoadedModel(ort, session, manifest, dir, outputNames);
    if (opts.golden !== false && (await checkGolden(model, readGolden(dir))).decisions === 0) model.goldenNote = noDecisionsNote(dir);
  } catch (e) {
    void session.release().catch(() => undefined);
    throw e;
  }
  return model;
}

const firstLine = (e: unknown): string =>
  String((e as Error).message ?? e)
    .split('\n')[0]!
    .replace(/^.*onnxruntime_src\/\S+ /, '');

/** The manifest's input and output roles against the graph's real ones; returns role → output name. */
function checkGraph(session: InferenceSession, m: Manifest, file: string): Partial<Record<OutputRole, string>> {
  if (session.inputNames.length !== 1)
    throw new ModelError(
      file,
      'input',
      `the graph has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); one is supported`,
    );
  const meta = session.inputMetadata[0]!;
  if (meta.name !== m.input.name)
    throw new ModelError(file, 'input.name', `the graph's input is "${meta.name}", the manifest says "${m.input.name}"`);
  if (!meta.isTensor || meta.type !== m.input.dtype)
    throw new ModelError(
      file,
      'input.dtype',
      `the graph takes ${meta.isTensor ? meta.type : 'a non-tensor'}, the manifest says ${m.input.dtype}`,
    );
  const width = m.features.length + m.observation.extra.length;
  const shape = meta.shape;
  if (shape.length !== 2)
    throw new ModelError(
      file,
      'input.shape',
      `the graph's input has rank ${shape.length} ([${shape.join(', ')}]), expected [batch, ${width}]`,
    );
  if (typeof shape[1] === 'number' && shape[1] !== width)
    throw new ModelError(
      file,
      'input.shape',
      `the graph takes ${shape[1]} values per row, the manifest's features and extra fields make ${width}`,
    );
  if (typeof shape[0] === 'number' && shape[0] !== 1 && shape[0] !== -1)
    throw new ModelError(file, 'input.shape', `the graph needs a batch of ${shape[0]}; batch 1 is used`);

  const names: Partial<Record<OutputRole, string>> = {};
  m.outputs.forEach((o, i) => {
    const name =
      o.name !== undefined && session.outputNames.includes(o.name)
        ? o.name
        : o.index !== undefined
          ? session.outputNames[o.index]
          : undefined;
    if (name === undefined)
      throw new ModelError(
        file,
        `outputs.${i}`,
        `${o.role}: no graph output ${o.name !== undefined ? `"${o.name}"` : ''}${o.index !== undefined ? ` at index ${o.index}` : ''} (the graph has ${session.outputNames.join(', ')})`,
      );
    const om = session.outputMetadata[session.outputNames.indexOf(name)]!;
    if (om.isTensor) {
      const last = om.shape[om.shape.length - 1];
      if ((o.role === 'probabilities' || o.role === 'logits') && typeof last === 'number' && last !== m.actions.length)
        throw new ModelError(
          file,
          `outputs.${i}`,
          `${o.role} "${name}" has ${last} classes, the manifest maps ${m.actions.length} actions`,
        );
      if (o.role === 'actions' && om.type !== 'int64' && om.type !== 'int32')
        throw new ModelError(file, `outputs.${i}`, `actions "${name}" is ${om.type}, expected int64`);
    }
    names[o.role] = name;
  });
  return names;
}

export const goldenCandles = (g: Golden): Candle[] =>
  g.candles.map(([ts, open, high, low, close, volume]) => ({ ts, open, high, low, close, volume }));

/** |a − b| within rtol relative (absolute near 0). */
export const close = (a: number, b: number, rtol: number): boolean => Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b), 1e-12);

export interface GoldenCheck {
  rows: number;
  /** Rows whose decided action (and probabilities) the manifest's map reproduced; 0: the file carries none. */
  decisions: number;
  maxFeatureErr: number;
  maxOutputErr: number;
}

/** Said when a golden file carries no decisions (written before they were added): the model loads, unverified on that. */
export const noDecisionsNote = (dir: string): string =>
  `${join(dir, GOLDEN_FILE)} carries no decided actions (an older export): the manifest's actions and thresholds are not checked against training; re-export the model to have them checked`;

/**
 * Features of the golden candles through the TypeScript pipeline, then the model's outputs, against the file;
 * then the rows' outputs decoded with the manifest's actions and thresholds (LoadedModel.interpret, as at run
 * time) against what the training run decided.
 */
export async function checkGolden(model: LoadedModel, g: Golden): Promise<GoldenCheck> {
  const m = model.manifest;
  const file = join(model.dir, GOLDEN_FILE);
  const withAction = g.rows.filter((r) => r.action !== undefined).length;
  if (withAction > 0 && withAction < g.rows.length)
    throw new ModelError(
      file,
      `rows.${g.rows.findIndex((r) => r.action === undefined)}.action`,
      `missing, while ${withAction} other rows carry the training run's action (all rows or none)`,
    );
  const candles = goldenCandles(g);
  const pipe = new FeaturePipeline(m.features);
  const byIndex = new Map(g.rows.map((r) => [r.index, r]));
  let maxF = 0;
  let maxO = 0;
  let rows = 0;
  let decisions = 0;
  const disagree: Disagreement[] = [];
  for (let i = 0; i < candles.length; i++) {
    const ready = pipe.update(candles[i]!);
    const row = byIndex.get(i);
    if (row === undefined) continue;
    if (!ready) throw new ModelError(file, `rows.${rows}`, `candle ${i} comes before the features' warm-up (${pipe.warmup} candles)`);
    if (row.features.length !== pipe.size)
      throw new ModelError(file, `rows.${rows}.features`, `${row.features.length} values for ${pipe.size} features`);
    for (let k = 0; k < pipe.size; k++) {
      const a = pipe.values[k]!;
      const b = row.features[k]!;
      const err = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
      maxF = Math.max(maxF, err);
      if (!close(a, b, g.tolerance.features))
        throw new ModelError(
          file,
          `rows.${rows}.features.${k}`,
          `feature "${pipe.names[k]}" is ${a} here, ${b} in the golden file (candle ${i})`,
        );
    }
    const obs: Observation = {
      position: row.extra?.[m.observation.extra.indexOf('position')] ?? 0,
      unrealized_pnl: row.extra?.[m.observation.extra.indexOf('unrealized_pnl')] ?? 0,
    };
    const out = await model.runRaw(pipe.values, obs);
    for (const [role, want] of Object.entries(row.outputs) as Array<[OutputRole, number[]]>) {
      const got = out[role];
      if (got === undefined) throw new ModelError(file, `rows.${rows}.outputs.${role}`, 'the manifest maps no output with this role');
      if (got.length !== want.length)
        throw new ModelError(file, `rows.${rows}.outputs.${role}`, `${got.length} values, expected ${want.length}`);
      for (let k = 0; k < want.length; k++) {
        const err = Math.abs(got[k]! - want[k]!);
        maxO = Math.max(maxO, err);
        if (!(err <= g.tolerance.outputs))
          throw new ModelError(
            file,
            `rows.${rows}.outputs.${role}`,
            `the model gives ${got[k]} here, the golden file ${want[k]} (candle ${i}, tolerance ${g.tolerance.outputs})`,
          );
      }
    }
    model.interpret(out); // the model's own outputs decode (a non-distribution is refused here)
    if (row.action !== undefined || row.dist !== undefined) {
      decisions++;
      // The training run's outputs (the model's for a role the row leaves out), through the manifest's map.
      const got = model.interpret({ ...out, ...row.outputs });
      const distOff = row.dist?.some((v, k) => !(Math.abs(got.dist[k]! - v) <= g.tolerance.outputs)) === true;
      if ((row.action !== undefined && got.action !== row.action) || distOff)
        disagree.push({ at: rows, candle: i, got, action: row.action, dist: row.dist });
    }
    rows++;
  }
  if (rows === 0) throw new ModelError(file, 'rows', 'no row matches a candle');
  if (disagree.length > 0) throw decisionError(model, disagree, rows);
  return { rows, decisions, maxFeatureErr: maxF, maxOutputErr: maxO };
}

interface Disagreement {
  at: number;
  candle: number;
  got: ModelPrediction;
  action: ModelAction | undefined;
  dist: [number, number, number] | undefined;
}

/** Golden rows the manifest decodes unlike the training run: its map (or threshold) is not the model's. */
function decisionError(model: LoadedModel, d: Disagreement[], rows: number): ModelError {
  const m = model.manifest;
  const p3 = (x: readonly number[]) => x.map((v) => v.toFixed(4)).join('/');
  const flipped = (r: Disagreement): boolean => r.action !== undefined && r.got.action !== r.action;
  const shown = [...d]
    .sort((a, b) => Number(flipped(b)) - Number(flipped(a)) || a.at - b.at) // a decision that flips first
    .slice(0, 3)
    .map((r) =>
      flipped(r)
        ? `rows.${r.at} (candle ${r.candle}) decodes to ${r.got.action}, the training run decided ${r.action}`
        : `rows.${r.at} (candle ${r.candle}) decodes to sell/hold/buy ${p3(r.got.dist)}, the training run had ${p3(r.dist!)}`,
    );
  const more = d.length > shown.length ? `; and ${d.length - shown.length} more` : '';
  const [field, what, harm] =
    m.kind === 'regressor'
      ? [
          'label.threshold',
          `label.threshold ${m.label.threshold}`,
          'edited? it would trade where the model was tested holding, or hold where it traded',
        ]
      : ['actions', `actions ${JSON.stringify(m.actions)}`, 'reversed or edited? trading on it would take the wrong side'];
  return new ModelError(
    join(model.dir, MANIFEST_FILE),
    field,
    `${d.length} of ${rows} golden rows decode unlike the training run (${GOLDEN_FILE}): ${shown.join('; ')}${more}. ` +
      `The manifest's ${what} is not what the model was trained with (${harm})`,
  );
}
