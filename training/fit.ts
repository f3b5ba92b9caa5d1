// Model fitting for the TypeScript trainer: a softmax classifier with an optional ReLU hidden layer (logistic
// regression when hidden = 0), trained with minibatch Adam; ridge regression solved with ml-matrix.
// The classifier loop is hand-rolled: the models are tiny (≤ 20×16×3), the only maintained JS autodiff library
// (TensorFlow.js) computes in float32 with a backend-dependent order, and its native build does not install
// offline; a plain loop over Float64Array is deterministic, so a rebuild gives the same bytes.
import { Matrix, solve } from 'ml-matrix';
import { mulberry32, normalSource } from '../src/market/generator.ts';

export interface Classifier {
  /** Input → hidden (d×h) and hidden → classes (h×3), or input → classes (d×3) when hidden = 0; row-major. */
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
  inputs: number;
  hidden: number;
  classes: number;
}

export interface FitOptions {
  hidden: number;
  epochs: number;
  batch: number;
  lr: number;
  l2: number;
  seed: number;
  /** Per-class loss weights (balance rare classes). */
  classWeights: number[];
}

/** Rounds every weight to float32 (what the ONNX file stores), so float64 reference outputs match onnxruntime. */
export function toFloat32(c: Classifier): Classifier {
  const f = (a: Float64Array) => Float64Array.from(a, Math.fround);
  return { ...c, w1: f(c.w1), b1: f(c.b1), w2: f(c.w2), b2: f(c.b2) };
}

/** Class probabilities for one (already normalized) row. */
export function predictProba(c: Classifier, x: ArrayLike<number>, off = 0): number[] {
  const { inputs: d, hidden: h, classes: k } = c;
  const logits = new Array<number>(k).fill(0);
  if (h === 0) {
    for (let j = 0; j < k; j++) {
      let s = c.b1[j]!;
      for (let i = 0; i < d; i++) s += x[off + i]! * c.w1[i * k + j]!;
      logits[j] = s;
    }
  } else {
    const z = new Array<number>(h);
    for (let u = 0; u < h; u++) {
      let s = c.b1[u]!;
      for (let i = 0; i < d; i++) s += x[off + i]! * c.w1[i * h + u]!;
      z[u] = s > 0 ? s : 0;
    }
    for (let j = 0; j < k; j++) {
      let s = c.b2[j]!;
      for (let u = 0; u < h; u++) s += z[u]! * c.w2[u * k + j]!;
      logits[j] = s;
    }
  }
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Minibatch Adam on the weighted cross-entropy. `x` row-major normalized inputs, `y` class indexes. */
export function fitClassifier(x: Float64Array, y: Int32Array, inputs: number, classes: number, o: FitOptions): Classifier {
  const rand = mulberry32(o.seed);
  const normal = normalSource(rand);
  const d = inputs;
  const h = o.hidden;
  const k = classes;
  const outIn = h === 0 ? d : h;
  const init = (n: number, fanIn: number) => Float64Array.from({ length: n }, () => normal() * Math.sqrt(2 / fanIn) * (h === 0 ? 0.1 : 1));
  const c: Classifier = {
    w1: init(h === 0 ? d * k : d * h, d),
    b1: new Float64Array(h === 0 ? k : h),
    w2: h === 0 ? new Float64Array(0) : init(h * k, outIn),
    b2: new Float64Array(h === 0 ? 0 : k),
    inputs: d,
    hidden: h,
    classes: k,
  };
  const params = [c.w1, c.b1, c.w2, c.b2];
  const grads = params.map((p) => new Float64Array(p.length));
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const n = y.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const z = new Float64Array(Math.max(h, 1));
  const dz = new Float64Array(Math.max(h, 1));
  const logits = new Float64Array(k);
  const b1 = 0.9;
  const b2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let start = 0; start < n; start += o.batch) {
      const end = Math.min(n, start + o.batch);
      for (const g of grads) g.fill(0);
      let wsum = 0;
      for (let r = start; r < end; r++) {
        const row = order[r]!;
        const off = row * d;
        const cls = y[row]!;
        const cw = o.classWeights[cls]!;
        wsum += cw;
        if (h === 0) {
          for (let j = 0; j < k; j++) {
            let s = c.b1[j]!;
            for (let i = 0; i < d; i++) s += x[off + i]! * c.w1[i * k + j]!;
            logits[j] = s;
          }
        } else {
          for (let u = 0; u < h; u++) {
            let s = c.b1[u]!;
            for (let i = 0; i < d; i++) s += x[off + i]! * c.w1[i * h + u]!;
            z[u] = s > 0 ? s : 0;
          }
          for (let j = 0; j < k; j++) {
            let s = c.b2[j]!;
            for (let u = 0; u < h; u++) s += z[u]! * c.w2[u * k + j]!;
            logits[j] = s;
          }
        }
        let mx = -Infinity;
        for (let j = 0; j < k; j++) mx = Math.max(mx, logits[j]!);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += logits[j] = Math.exp(logits[j]! - mx);
        for (let j = 0; j < k; j++) logits[j] = cw * (logits[j]! / sum - (j === cls ? 1 : 0)); // dL/dlogit
        if (h === 0) {
          for (let j = 0; j < k; j++) {
            grads[1]![j]! += logits[j]!;
            for (let i = 0; i < d; i++) grads[0]![i * k + j]! += x[off + i]! * logits[j]!;
          }
        } else {
          dz.fill(0);
          for (let j = 0; j < k; j++) {
            grads[3]![j]! += logits[j]!;
            for (let u = 0; u < h; u++) {
              grads[2]![u * k + j]! += z[u]! * logits[j]!;
              dz[u]! += c.w2[u * k + j]! * logits[j]!;
            }
          }
          for (let u = 0; u < h; u++) {
            if (z[u]! <= 0) continue;
            grads[1]![u]! += dz[u]!;
            for (let i = 0; i < d; i++) grads[0]![i * h + u]! += x[off + i]! * dz[u]!;
          }
        }
      }
      step++;
      const corr1 = 1 - b1 ** step;
      const corr2 = 1 - b2 ** step;
      for (let p = 0; p < params.length; p++) {
        const P = params[p]!;
        const G = grads[p]!;
        const M = m1[p]!;
        const V = m2[p]!;
        const decay = p === 0 || p === 2 ? o.l2 : 0;
        for (let i = 0; i < P.length; i++) {
          const g = G[i]! / wsum + decay * P[i]!;
          M[i] = b1 * M[i]! + (1 - b1) * g;
          V[i] = b2 * V[i]! + (1 - b2) * g * g;
          P[i]! -= (o.lr * (M[i]! / corr1)) / (Math.sqrt(V[i]! / corr2) + 1e-8);
        }
      }
    }
  }
  return c;
}

/** Ridge regression on normalized rows: w = (XᵀX + λn·I)⁻¹ Xᵀ(y − ȳ), intercept ȳ. */
export function fitRidge(x: Float64Array, y: Float64Array, inputs: number, lambda: number): { w: number[]; b: number } {
  const n = y.length;
  const d = inputs;
  let ym = 0;
  for (let i = 0; i < n; i++) ym += y[i]!;
  ym /= n;
  const a = Matrix.zeros(d, d);
  const v = Matrix.zeros(d, 1);
  for (let r = 0; r < n; r++) {
    const off = r * d;
    const t = y[r]! - ym;
    for (let i = 0; i < d; i++) {
      const xi = x[off + i]!;
      v.set(i, 0, v.get(i, 0) + xi * t);
      for (let j = i; j < d; j++) a.set(i, j, a.get(i, j) + xi * x[off + j]!);
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) a.set(i, j, a.get(j, i));
    a.set(i, i, a.get(i, i) + lambda * n);
  }
  const w = solve(a, v).getColumn(0);
  return { w, b: ym };
}
