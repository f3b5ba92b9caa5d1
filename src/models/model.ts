// A loaded, checked model: builds its input from features, runs the ONNX session and reads the outputs
// into one prediction on {sell, hold, buy}. Reference-counted so a hot reload releases a replaced session
// only after its in-flight runs finish (onnxruntime rejects a run queued on a released session).
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { join } from 'node:path';
import { ACTIONS, MODEL_FILE, type ExtraField, type Manifest, type ModelAction, type OutputRole } from './manifest.ts';

/** One model's verdict on one candle. `dist` is over [sell, hold, buy] and sums to 1. */
export interface ModelPrediction {
  action: ModelAction;
  /** In [0, 1]: the probability of the chosen action (classifiers, policies) or |value| / valueScale (regressors). */
  confidence: number;
  dist: [number, number, number];
  /** Regressors (and policies with a value head). */
  value?: number;
}

/** The account fields a policy may ask for. */
export interface Observation {
  /** −1 short, 0 flat, +1 long. */
  position: number;
  /** Unrealized PnL as a fraction of the position's cost (0 when flat or unknown). */
  unrealized_pnl: number;
}

export class ModelError extends Error {
  constructor(
    /** File the problem is in (models/x/model.onnx, …). */
    readonly file: string,
    /** Field or part, e.g. "features.3.fn", "sha256", "outputs.probabilities". */
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
    this.name = 'ModelError';
  }
}

type Ort = typeof import('onnxruntime-node');

/** One output role of a session run: `k` values per row. */
interface RoleOutput {
  role: OutputRole;
  data: ArrayLike<number | bigint>;
  k: number;
}

/** A distribution with `c` on action `a` and the rest split evenly. */
function oneHot(a: ModelAction, c: number): [number, number, number] {
  const rest = (1 - c) / 2;
  const d: [number, number, number] = [rest, rest, rest];
  d[ACTIONS.indexOf(a)] = c;
  return d;
}

export class LoadedModel {
  readonly manifest: Manifest;
  readonly dir: string;
  /** "name vN" */
  readonly label: string;
  /** The .onnx file (named in run-time errors). */
  readonly file: string;
  /** Set by the loader when the golden file could not verify everything (an older export); shown, not fatal. */
  goldenNote: string | null = null;
  /** Output role → graph output name. */
  private readonly outputNames: Partial<Record<OutputRole, string>>;
  private readonly width: number;
  /** Standardization's divisors, √(var + ε), taken once (fillRow ran a square root per input per row). */
  private readonly sd: number[];
  /** The graph's class k is ACTIONS[actionAt[k]] (toDist looked each one up by name, per row). */
  private readonly actionAt: number[];
  private inflight = 0;
  private retired = false;
  private released = false;

  constructor(
    private readonly ort: Ort,
    readonly session: InferenceSession,
    manifest: Manifest,
    dir: string,
    outputNames: Partial<Record<OutputRole, string>>,
  ) {
    this.manifest = manifest;
    this.dir = dir;
    this.label = `${manifest.name} v${manifest.version}`;
    this.file = join(dir, MODEL_FILE);
    this.outputNames = outputNames;
    this.width = manifest.features.length + manifest.observation.extra.length;
    const norm = manifest.normalization;
    this.sd = norm.kind === 'standardize' ? norm.var.map((v) => Math.sqrt(v + norm.epsilon)) : [];
    this.actionAt = manifest.actions.map((a) => ACTIONS.indexOf(a));
  }

  get extra(): readonly ExtraField[] {
    return this.manifest.observation.extra;
  }

  /**
   * Runs the model on one feature row (+ the observation fields a policy needs). Rejects with a ModelError on
   * non-finite inputs or outputs. Batch 1; runs may overlap.
   */
  async predict(features: ArrayLike<number>, obs?: Observation): Promise<ModelPrediction> {
    const raw = await this.runRaw(features, obs);
    return this.interpret(raw);
  }

  /** The model's raw outputs by role (golden checks compare these). */
  async runRaw(features: ArrayLike<number>, obs?: Observation): Promise<Partial<Record<OutputRole, number[]>>> {
    return (await this.runRows(features, 1, obs))[0]!;
  }

  /**
   * Predictions for `n` feature rows in one run (backtests: models that do not read the account): row r's
   * features are `rows[r × features … (r + 1) × features)`, one flat array (a typed array per row was a
   * visible share of the batched inference's allocations).
   */
  async predictMany(rows: Float64Array, n: number): Promise<ModelPrediction[]> {
    if (n === 0) return [];
    const b = this.manifest.input.shape[0];
    if (typeof b === 'number' && b > 0) {
      const nf = this.manifest.features.length;
      const out: ModelPrediction[] = []; // a fixed batch size in the graph: one row at a time
      for (let r = 0; r < n; r++) out.push(await this.predict(rows.subarray(r * nf, (r + 1) * nf)));
      return out;
    }
    // One scratch row per role, refilled for each row: interpret keeps nothing of it. Profile of the
    // batched ensemble backtest: a fresh object and arrays per row (390 k rows) were ~20 % of inference.
    const outputs = await this.runOutputs(rows, n);
    const raw: Partial<Record<OutputRole, number[]>> = {};
    for (const o of outputs) raw[o.role] = new Array<number>(o.k);
    const preds = new Array<ModelPrediction>(n);
    for (let r = 0; r < n; r++) {
      for (const o of outputs) this.readRow(o, r, raw[o.role]!);
      preds[r] = this.interpret(raw);
    }
    return preds;
  }

  /** `n` rows of features, flat (see predictMany), through one session run: fresh arrays per row. */
  private async runRows(features: ArrayLike<number>, n: number, obs?: Observation): Promise<Array<Partial<Record<OutputRole, number[]>>>> {
    const outputs = await this.runOutputs(features, n, obs);
    const out: Array<Partial<Record<OutputRole, number[]>>> = Array.from({ length: n }, () => ({}));
    for (const o of outputs) for (let r = 0; r < n; r++) out[r]![o.role] = this.readRow(o, r, new Array<number>(o.k));
    return out;
  }

  /** One session run over `n` flat rows: each output role's data, `k` values per row. */
  private async runOutputs(features: ArrayLike<number>, n: number, obs?: Observation): Promise<RoleOutput[]> {
    const m = this.manifest;
    const w = this.width;
    const nf = m.features.length;
    // A fresh buffer per run: overlapping runs must not share an input the session may still read.
    const x = m.input.dtype === 'float64' ? new Float64Array(w * n) : new Float32Array(w * n);
    for (let r = 0; r < n; r++) this.fillRow(x, r * w, features, r * nf, obs);
    const feeds = { [m.input.name]: new this.ort.Tensor(m.input.dtype, x, [n, w]) };
    this.inflight++;
    let result: InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds);
    } finally {
      this.inflight--;
      if (this.retired && this.inflight === 0) this.release();
    }
    const outputs: RoleOutput[] = [];
    for (const [role, name] of Object.entries(this.outputNames) as Array<[OutputRole, string]>) {
      const t = result[name] as Tensor | undefined;
      if (t === undefined) this.fail(role, `the graph returned no output "${name}"`);
      // Read row by row straight from the tensor's typed array (a batch is 4,096 rows: no whole-batch copy).
      const data = t.data as ArrayLike<number | bigint>;
      outputs.push({ role, data, k: data.length / n });
    }
    return outputs;
  }

  /** Row r of one output into `row` (k values); a non-finite value is refused. */
  private readRow(o: RoleOutput, r: number, row: number[]): number[] {
    const { data, k } = o;
    for (let j = 0; j < k; j++) {
      const v = Number(data[r * k + j]);
      if (!Number.isFinite(v)) this.fail(o.role, `the model returned ${v}`);
      row[j] = v;
    }
    return row;
  }

  /** One input row at `at`: features, observation fields, the manifest's normalization; non-finite is refused. */
  private fillRow(x: Float32Array | Float64Array, at: number, features: ArrayLike<number>, from: number, obs?: Observation): void {
    const m = this.manifest;
    const nf = m.features.length;
    for (let i = 0; i < nf; i++) x[at + i] = features[from + i]!;
    const extra = m.observation.extra;
    for (let j = 0; j < extra.length; j++) x[at + nf + j] = obs === undefined ? 0 : obs[extra[j]!];
    const norm = m.normalization;
    if (norm.kind === 'standardize') {
      for (let i = 0; i < this.width; i++) {
        let v = (x[at + i]! - norm.mean[i]!) / this.sd[i]!;
        if (norm.clip !== undefined) v = v > norm.clip ? norm.clip : v < -norm.clip ? -norm.clip : v;
        x[at + i] = v;
      }
    }
    for (let i = 0; i < this.width; i++)
      if (!Number.isFinite(x[at + i]!))
        throw new ModelError(
          this.dir,
          `input[${i}]`,
          `${i < nf ? `feature "${m.features[i]!.name}"` : `observation "${extra[i - nf]}"`} is ${x[at + i]}`,
        );
  }

  // Helpers of interpret, as methods: it runs once per row of a batch (130 k rows per model in a
  // backtest), and closures made per call were a visible share of that profile.

  /** A bad output of the graph: the error names the model file and the output role. */
  private fail(role: string, why: string): never {
    throw new ModelError(this.file, `outputs.${role}`, why);
  }

  private toDist(p: number[]): [number, number, number] {
    const at = this.actionAt;
    if (p.length !== at.length) this.fail('probabilities', `${p.length} values for ${at.length} actions`);
    const d: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < p.length; i++) d[at[i]!]! += p[i]!;
    return d;
  }

  /** Raw outputs → one prediction on [sell, hold, buy]. */
  interpret(raw: Partial<Record<OutputRole, number[]>>): ModelPrediction {
    const m = this.manifest;
    const map = m.actions;
    if (m.kind === 'classifier') {
      let p = raw.probabilities;
      if (p === undefined && raw.logits !== undefined) p = softmax(raw.logits);
      if (p !== undefined) {
        let sum = 0;
        let negative = false;
        for (let i = 0; i < p.length; i++) {
          sum += p[i]!;
          if (p[i]! < -1e-6) negative = true;
        }
        if (!(Math.abs(sum - 1) < 1e-3) || negative) this.fail('probabilities', `not a probability distribution (sum ${sum})`);
        const dist = this.toDist(p);
        const action = argmaxAction(dist);
        return { action, confidence: clamp01(dist[ACTIONS.indexOf(action)]!), dist };
      }
      const label = raw.label![0]!;
      const action = map[label] ?? this.fail('label', `class ${label} is not in actions (${map.length} classes)`);
      return { action, confidence: 1, dist: oneHot(action, 1) };
    }
    if (m.kind === 'regressor') {
      const value = raw.value![0]!;
      const thr = m.label.threshold;
      const action: ModelAction = value > thr ? 'buy' : value < -thr ? 'sell' : 'hold';
      const scale = m.valueScale ?? 2 * thr;
      const confidence = action === 'hold' ? clamp01(1 - Math.abs(value) / scale) : clamp01(Math.abs(value) / scale);
      return { action, confidence, dist: oneHot(action, confidence), value };
    }
    const idx = raw.actions![0]!;
    const action = map[idx] ?? this.fail('actions', `action ${idx} is not in actions (${map.length} actions)`);
    const confidence = raw.log_prob !== undefined ? clamp01(Math.exp(raw.log_prob[0]!)) : 1;
    const pred: ModelPrediction = { action, confidence, dist: oneHot(action, confidence) };
    if (raw.value !== undefined) pred.value = raw.value[0]!;
    return pred;
  }

  /** True until released. */
  get alive(): boolean {
    return !this.released;
  }

  /** Take out of service: the session is released now, or when the last in-flight run finishes. */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    void this.session.release().catch(() => undefined);
  }
}

export function softmax(z: number[]): number[] {
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The most probable action; a tie between buy and sell (or with hold) is a hold. */
export function argmaxAction(dist: readonly number[]): ModelAction {
  const [s, h, b] = dist as [number, number, number];
  if (b > s && b > h) return 'buy';
  if (s > b && s > h) return 'sell';
  return 'hold';
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
