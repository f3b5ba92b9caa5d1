// The model folder's contract: models/<name>/{model.onnx, manifest.json, golden.json}, validated with zod.
import { z } from 'zod';
import { TIMEFRAMES, type Timeframe } from '../core/types.ts';
import { featureSpecProblems } from './features.ts';

export const MANIFEST_SCHEMA_VERSION = 1;
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';
export const GOLDEN_FILE = 'golden.json';

/** What every model's output is mapped onto. */
export const ACTIONS = ['sell', 'hold', 'buy'] as const;
export type ModelAction = (typeof ACTIONS)[number];
const ACTION_SYNONYMS: Readonly<Record<string, ModelAction>> = {
  sell: 'sell',
  hold: 'hold',
  buy: 'buy',
  short: 'sell',
  flat: 'hold',
  long: 'buy',
};

export const OUTPUT_ROLES = ['probabilities', 'logits', 'label', 'value', 'actions', 'log_prob'] as const;
export type OutputRole = (typeof OUTPUT_ROLES)[number];

/** Observation fields a policy may need besides the features, appended after them in this order. */
export const EXTRA_FIELDS = ['position', 'unrealized_pnl'] as const;
export type ExtraField = (typeof EXTRA_FIELDS)[number];

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const featureSpec = z
  .object({
    name: z.string().min(1),
    fn: z.string().min(1),
    window: z.number().int().min(1).optional(),
    params: z.record(z.string(), finite).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const p of featureSpecProblems(s)) {
      const [field, ...rest] = p.split(': ');
      ctx.addIssue({ code: 'custom', path: [field!.split('.')[0]!], message: rest.join(': ') });
    }
  });

const dim = z.union([z.number().int().min(-1), z.string(), z.null()]);

const output = z
  .object({
    role: z.enum(OUTPUT_ROLES),
    /** The graph's output name; auto-named exports (SB3, torch) may use `index` instead. */
    name: z.string().min(1).optional(),
    index: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((o) => o.name !== undefined || o.index !== undefined, 'needs a name or an index');

const normalization = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('in_graph') }).strict(),
  /** (x − mean) / sqrt(var + epsilon), then clipped to ±clip: the loader applies it (SB3 VecNormalize's formula). */
  z
    .object({
      kind: z.literal('standardize'),
      mean: z.array(finite),
      var: z.array(finite.refine((v) => v >= 0, 'must be ≥ 0')),
      epsilon: finite.default(1e-8),
      clip: z.number().positive().optional(),
    })
    .strict(),
]);

export const manifestSchema = z
  .object({
    schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _ (max 64)'),
    version: z.number().int().min(1),
    kind: z.enum(['classifier', 'regressor', 'policy']),
    description: z.string().optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the sha256 of model.onnx in lower-case hex'),
    /** The candles it was trained on: it runs on these only (absent: any). */
    timeframe: z.enum(TIMEFRAMES).optional(),
    input: z
      .object({
        name: z.string().min(1),
        dtype: z.enum(['float32', 'float64']).default('float32'),
        /** [batch, features]; batch is 1, -1, null or a symbolic name. */
        shape: z.array(dim).length(2),
      })
      .strict(),
    outputs: z.array(output).min(1),
    /** Class / action index → action, e.g. ["sell", "hold", "buy"] or ["short", "flat", "long"]. */
    actions: z
      .array(z.string())
      .min(2)
      .transform((a, ctx) =>
        a.map((x, i) => {
          const m = ACTION_SYNONYMS[x];
          if (m === undefined) ctx.addIssue({ code: 'custom', path: [i], message: `"${x}" is not one of sell/hold/buy (short/flat/long)` });
          return m ?? 'hold';
        }),
      ),
    features: z.array(featureSpec).min(1),
    observation: z
      .object({ extra: z.array(z.enum(EXTRA_FIELDS)).default([]) })
      .strict()
      .prefault({}),
    normalization: normalization.default({ kind: 'none' }),
    label: z
      .object({
        horizon: z.number().int().min(1),
        target: z.enum(['direction', 'return']),
        /** |forward return| above this is a buy/sell, below it a hold (regressors: the decision threshold). */
        threshold: z.number().min(0),
      })
      .strict(),
    /** Regressors: |value| at which confidence reaches 1 (default 2 × label.threshold). */
    valueScale: z.number().positive().optional(),
    training: z
      .object({
        trainer: z.string(),
        data: z.array(z.string()),
        from: z.string(),
        to: z.string(),
        rows: z.number().int().min(0).optional(),
        seed: z.number().int().optional(),
      })
      .strict()
      .optional(),
    /** Out-of-sample metrics from training (hit_rate, brier, mean_return, …). */
    metrics: z.record(z.string(), z.number()).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    m.features.forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature name "${f.name}"` });
      names.add(f.name);
    });
    const width = m.features.length + m.observation.extra.length;
    const last = m.input.shape[1];
    if (typeof last === 'number' && last !== width)
      ctx.addIssue({
        code: 'custom',
        path: ['input', 'shape', 1],
        message: `${last} inputs, but the manifest has ${m.features.length} features + ${m.observation.extra.length} extra fields`,
      });
    if (m.normalization.kind === 'standardize') {
      for (const k of ['mean', 'var'] as const)
        if (m.normalization[k].length !== width)
          ctx.addIssue({
            code: 'custom',
            path: ['normalization', k],
            message: `has ${m.normalization[k].length} values, expected ${width}`,
          });
    }
    const roles = new Set(m.outputs.map((o) => o.role));
    const need: Record<typeof m.kind, OutputRole[][]> = {
      classifier: [['probabilities', 'logits', 'label']],
      regressor: [['value']],
      policy: [['actions']],
    };
    for (const anyOf of need[m.kind])
      if (!anyOf.some((r) => roles.has(r)))
        ctx.addIssue({ code: 'custom', path: ['outputs'], message: `a ${m.kind} needs an output with role ${anyOf.join(' or ')}` });
    if (m.kind === 'regressor' && m.label.threshold === 0 && m.valueScale === undefined)
      ctx.addIssue({ code: 'custom', path: ['valueScale'], message: 'needed when label.threshold is 0' });
  });

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;

/**
 * Why a model must not run on `timeframe` candles, or null: its features and label horizon count bars of the
 * manifest's timeframe (a manifest without one runs on any). The loader's check (ModelSet: bot, hot reload,
 * backtests) and start-up's (config check) both say this. `source`: where the run's timeframe comes from.
 */
export function timeframeProblem(m: Pick<Manifest, 'timeframe' | 'label'>, timeframe: Timeframe, source?: string): string | null {
  if (m.timeframe === undefined || m.timeframe === timeframe) return null;
  return (
    `trained on ${m.timeframe} candles, run on ${timeframe}${source !== undefined ? ` (${source})` : ''}: its features and ` +
    `${m.label.horizon}-bar label horizon would span other lengths of time; use ${m.timeframe} candles or a model trained on ${timeframe}`
  );
}

const row = z
  .object({
    /** Index into `candles` of the candle these features/outputs belong to. */
    index: z.number().int().min(0),
    features: z.array(z.number()),
    /** Values of observation.extra (policies), in order. */
    extra: z.array(z.number()).optional(),
    /** Expected raw outputs by role (label/actions as numbers). */
    outputs: z.partialRecord(z.enum(OUTPUT_ROLES), z.array(z.number())),
    /**
     * What the training run decided from these outputs with the model's true action map (and thresholds). The
     * loader decodes `outputs` with the manifest's and must agree: a reversed or edited map is refused.
     * Absent in files written before it (such a file still loads, with a note).
     */
    action: z.enum(ACTIONS).optional(),
    /** Probability classifiers: the training run's probabilities by action, [sell, hold, buy] (shows a swap on hold rows too). */
    dist: z.tuple([z.number(), z.number(), z.number()]).optional(),
  })
  .strict();

export const goldenSchema = z
  .object({
    schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
    generator: z.string(),
    /** [ts, open, high, low, close, volume] */
    candles: z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()])).min(1),
    rows: z.array(row).min(1),
    tolerance: z
      .object({ features: z.number().positive().default(1e-9), outputs: z.number().positive().default(1e-4) })
      .strict()
      .prefault({}),
  })
  .strict();

export type Golden = z.output<typeof goldenSchema>;

/** zod issues as "path: message" lines. */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
}
