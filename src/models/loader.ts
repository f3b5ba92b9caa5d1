// Loads one model folder and proves it before it may decide anything: the manifest (zod), the file's sha256,
// the graph's opset, its real inputs/outputs against the manifest, and the golden file (features from the
// golden candles through the TypeScript pipeline, then the model's outputs). Any failure is a ModelError
// naming the file and the field. onnxruntime-node loads on first use (like ccxt): ~80 MB and 30–170 ms.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import type { Candle } from '../core/types.ts';
import { FeaturePipeline } from './features.ts';
import {
  GOLDEN_FILE,
  MANIFEST_FILE,
  MODEL_FILE,
  goldenSchema,
  issueLines,
  manifestSchema,
  type Golden,
  type Manifest,
  type OutputRole,
} from './manifest.ts';
import { LoadedModel, ModelError, type Observation } from './model.ts';
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

/** Loads and checks a model folder. Throws a ModelError; never returns a half-checked model. */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const manifest = readManifest(dir);
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
    if (opts.golden !== false) await checkGolden(model, readGolden(dir));
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

/** Features of the golden candles through the TypeScript pipeline, then the model's outputs, against the file. */
export async function checkGolden(model: LoadedModel, g: Golden): Promise<{ rows: number; maxFeatureErr: number; maxOutputErr: number }> {
  const m = model.manifest;
  const file = join(model.dir, GOLDEN_FILE);
  const candles = goldenCandles(g);
  const pipe = new FeaturePipeline(m.features);
  const byIndex = new Map(g.rows.map((r) => [r.index, r]));
  let maxF = 0;
  let maxO = 0;
  let rows = 0;
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
    model.interpret(out);
    rows++;
  }
  if (rows === 0) throw new ModelError(file, 'rows', 'no row matches a candle');
  return { rows, maxFeatureErr: maxF, maxOutputErr: maxO };
}
