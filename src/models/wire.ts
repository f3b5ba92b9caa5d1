// The model runtime of a running bot: the config's model/ensemble strategy resolved to model folders, the
// ModelSet serving them (hot reload by the watcher), every prediction journaled and scored on candle time,
// model events as chat alerts + journal rows, the hit-rate floor, and the /models controls.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ModelRunConfig } from './config.ts';
import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import { UserError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { TIMEFRAME_MS, type ModelVote, type Signal } from '../core/types.ts';
import type { Journal } from '../journal/journal.ts';
import { ModelJournal, type VersionTally } from './predictions-journal.ts';
import type { EnsembleConfig } from './ensemble.ts';
import { readManifest, readModelFile } from './loader.ts';
import { MANIFEST_FILE, timeframeProblem, type Manifest } from './manifest.ts';
import type { LoadedModel } from './model.ts';
import { FloorWatch } from './floor.ts';
import { ModelSet, type ModelEvent } from './model-set.ts';
import { ENSEMBLE_FILE, readEnsemble } from './open.ts';
import { OutcomeTracker, type ModelScore } from './outcomes.ts';
import { readDisabledModels, writeDisabledModels } from './state.ts';
import { ModelStrategy, type ModelObserver } from './strategy.ts';
import { ModelWatcher } from './watcher.ts';

export const MODEL_STRATEGIES = ['model', 'ensemble'] as const;
export const isModelStrategy = (name: string): boolean => (MODEL_STRATEGIES as readonly string[]).includes(name);

export interface ModelSpec {
  name: 'model' | 'ensemble';
  config: EnsembleConfig;
  /** Member folders, in the config's order. */
  dirs: string[];
}

/** A member as named in a config: a folder under `root`, or a path. */
const memberDir = (root: string, m: string): string => (isAbsolute(m) || m.includes('/') ? m : join(root, m));
const folderName = (m: string): string => m.split('/').filter(Boolean).pop()!;

/** The model/ensemble strategy's members, vote and gate from the config. Throws naming the config key. */
export function modelSpec(cfg: Pick<ModelRunConfig, 'strategy' | 'models'>): ModelSpec {
  const s = cfg.strategy;
  const root = cfg.models.dir;
  if (s.name === 'model') {
    if (s.model === undefined) throw new UserError('strategy.model: the model strategy needs a model folder (e.g. models/btc-mlp)');
    const config: EnsembleConfig = {
      schemaVersion: 1,
      mode: s.vote ?? 'weighted',
      minConfidence: s.minConfidence ?? 0,
      members: [{ model: s.model, weight: 1 }],
    };
    return { name: 'model', config, dirs: [memberDir(root, s.model)] };
  }
  if (s.models !== undefined) {
    const config: EnsembleConfig = {
      schemaVersion: 1,
      mode: s.vote ?? 'weighted',
      minConfidence: s.minConfidence ?? 0.5,
      members: s.models.map((m) => ({ model: m, weight: 1 })),
    };
    return { name: 'ensemble', config, dirs: s.models.map((m) => memberDir(root, m)) };
  }
  const file = s.ensemble ?? join(root, ENSEMBLE_FILE);
  let e: EnsembleConfig;
  try {
    e = readEnsemble(file);
  } catch (err) {
    throw new UserError(`${s.ensemble !== undefined ? 'strategy.ensemble' : 'models.dir'}: ${(err as Error).message}`);
  }
  const config: EnsembleConfig = { ...e, mode: s.vote ?? e.mode, minConfidence: s.minConfidence ?? e.minConfidence };
  return { name: 'ensemble', config, dirs: e.members.map((m) => memberDir(dirname(file), m.model)) };
}

/**
 * Start-up problems of a model strategy, as "key: what is wrong": a missing model, or one trained on another
 * timeframe than market.timeframe (the full checks: `skipper models check`; a broken manifest is the load's to report).
 */
export function modelStrategyProblems(cfg: Pick<ModelRunConfig, 'strategy' | 'models' | 'market'>): string[] {
  let spec: ModelSpec;
  try {
    spec = modelSpec(cfg);
  } catch (e) {
    return [(e as Error).message];
  }
  const key = cfg.strategy.name === 'model' ? 'strategy.model' : cfg.strategy.models ? 'strategy.models' : 'strategy.ensemble';
  // Members are told apart by their folder's name (slots, votes, scores): a second one of a name would be the first again.
  const names = spec.dirs.map(folderName);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return [`${key}: two members are models named ${twice} (their folder's name): name each model once`];
  return spec.dirs.flatMap((d) => {
    const file = join(d, MANIFEST_FILE);
    if (!existsSync(file)) return [`${key}: no model in ${d} (${MANIFEST_FILE} missing)`];
    let manifest: Manifest;
    try {
      manifest = readManifest(d);
    } catch {
      return [];
    }
    const p = timeframeProblem(manifest, cfg.market.timeframe, 'market.timeframe');
    if (p !== null) return [`${key}: ${file}: timeframe: ${p}`];
    try {
      readModelFile(d, manifest); // there, and the file the manifest names (the graph itself is checked at load)
    } catch (e) {
      // An ensemble starts without a member whose file is bad (a publish cut off by a crash), as it does
      // without one whose manifest is: the load reports it and the others vote (none left: start refuses).
      return spec.dirs.length > 1 ? [] : [`${key}: ${(e as Error).message}`];
    }
    return [];
  });
}

/** What /models shows per model. */
export interface ModelView {
  name: string;
  version: number | null;
  weight: number;
  enabled: boolean;
  lastError: string | null;
  last: { ts: number; action: string; confidence: number; version: number } | null;
  /** Live scores of the serving version (null before any prediction was scored). */
  live: ModelScore | null;
  /** The manifest's training metrics. */
  training: Record<string, number>;
  horizon: number | null;
}

/** The /models controls (chat services). */
export interface ModelControls {
  strategy: string;
  mode: string;
  minConfidence: number;
  list(): ModelView[];
  /** Takes a model out of (or back into) the ensemble; journaled and kept across restarts. */
  setEnabled(name: string, enabled: boolean, by: string): { ok: boolean; text: string };
  /** Reloads one model (or all) now. */
  reload(name?: string): Promise<string[]>;
  recentEvents(limit?: number): Array<{ ts: number; model: string; type: string; detail: string }>;
}

/** Prediction counters the metrics endpoint gets (ops.modelObserver). */
export interface ModelMetricsObserver {
  prediction(model: string, outcome: 'hit' | 'miss' | 'pending'): void;
  hitRatio(model: string, ratio: number): void;
}

export interface ModelRuntimeDeps {
  journal: Journal;
  alerts: AlertSink;
  log: Logger;
  /** Wall clock: model events and controls are people-facing facts. */
  wall: Clock;
  metrics?: ModelMetricsObserver;
  /** Quiet time before a changed folder is reloaded (tests). */
  debounceMs?: number;
}

const tallyKey = (model: string, version: number): string => `${model}\u0000${version}`;
const label = (model: string, version: number): string => `${model} v${version}`;

/** Model runtime of a bot; null when the configured strategy is not a model strategy (onnxruntime never loads). */
export function createModelRuntime(cfg: ModelRunConfig, deps: ModelRuntimeDeps): ModelRuntime | null {
  return isModelStrategy(cfg.strategy.name) ? new ModelRuntime(cfg, deps) : null;
}

export class ModelRuntime implements ModelObserver {
  readonly spec: ModelSpec;
  readonly set: ModelSet;
  readonly store: ModelJournal;
  private readonly loads: Array<Promise<ModelEvent | null>>;
  private watcher: ModelWatcher | null = null;
  private readonly trackers = new Map<string, OutcomeTracker>();
  private readonly tallies = new Map<string, VersionTally>();
  private readonly belowFloor = new FloorWatch();
  private started = false;

  constructor(
    private readonly cfg: ModelRunConfig,
    private readonly deps: ModelRuntimeDeps,
  ) {
    this.spec = modelSpec(cfg);
    this.set = new ModelSet(deps.log, { timeframe: cfg.market.timeframe });
    this.store = new ModelJournal(deps.journal.sqlite, TIMEFRAME_MS[cfg.market.timeframe]);
    this.set.on('model', (ev) => this.onEvent(ev));
    this.loads = this.spec.dirs.map((d) => this.set.load(d)); // the slots exist from here; the sessions at start()
    const saved = readDisabledModels(deps.journal);
    for (const name of saved) {
      const slot = this.set.slots.get(name);
      if (slot !== undefined) slot.enabled = false;
    }
    // The last enabled model cannot be disabled (setEnabled): not by a list saved under another config either.
    if (![...this.set.slots.values()].some((x) => x.enabled)) {
      for (const x of this.set.slots.values()) x.enabled = true;
      writeDisabledModels(deps.journal, [], deps.wall.now());
      deps.alerts.raise({
        type: 'engine',
        severity: 'warning',
        title: 'Disabled models enabled again',
        message:
          `Every model of this ${this.spec.name} was disabled in an earlier run (${saved.join(', ')}): with none enabled ` +
          `nothing would vote. They vote again; /models disable takes one out, /pause stops entries.`,
        key: 'models:all-disabled',
      });
    }
    for (const t of this.store.tallies()) this.tallies.set(tallyKey(t.model, t.version), t);
    // Predictions whose horizon had not passed when the bot stopped are scored by the candles to come.
    for (const p of this.store.openPredictions()) this.tracker(p.symbol).add(p);
  }

  private tracker(symbol: string): OutcomeTracker {
    let t = this.trackers.get(symbol);
    if (t === undefined) {
      t = new OutcomeTracker(TIMEFRAME_MS[this.cfg.market.timeframe]);
      this.trackers.set(symbol, t);
    }
    return t;
  }

  /** The strategy for one symbol. */
  strategy(symbol: string, timeframeMs: number): ModelStrategy {
    const p = this.cfg.strategy.params;
    return new ModelStrategy({
      name: this.spec.name,
      symbol,
      set: this.set,
      members: this.spec.config.members.map((m) => ({ model: folderName(m.model), weight: m.weight })),
      mode: this.spec.config.mode,
      minConfidence: this.spec.config.minConfidence,
      timeframeMs,
      ...(p.atrStop !== undefined ? { atrStop: p.atrStop } : {}),
      ...(p.atrPeriod !== undefined ? { atrPeriod: p.atrPeriod } : {}),
      logger: this.deps.log,
      observer: this,
    });
  }

  /** Waits for the first loads (onnxruntime-node loads here) and starts hot reload. Throws when no model can serve. */
  async start(): Promise<void> {
    const evs = await Promise.all(this.loads);
    this.started = true;
    if ([...this.set.slots.values()].every((s) => s.current === null)) {
      const why = evs.flatMap((e) => (e?.type === 'refused' ? [e.error] : [])).join('; ');
      throw new UserError(`strategy ${this.spec.name}: no model could be loaded: ${why}`);
    }
    if (this.cfg.models.watch) {
      const root = dirname(this.spec.dirs[0]!);
      this.watcher = new ModelWatcher(this.set, root, {
        logger: this.deps.log,
        ...(this.deps.debounceMs !== undefined ? { debounceMs: this.deps.debounceMs } : {}),
      });
      this.watcher.start();
    }
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.set.close();
  }

  // ---- events ---------------------------------------------------------------------------------

  private onEvent(ev: ModelEvent): void {
    const ts = this.deps.wall.now();
    const row = { ts, model: ev.name, type: ev.type, version: null as number | null, previous: null as number | null, detail: '' };
    let alert: { severity: 'info' | 'warning'; title: string; message: string } | null = null;
    if (ev.type === 'loaded') {
      row.version = ev.version;
      row.detail = `loaded from ${ev.dir}`;
      if (this.started) alert = { severity: 'info', title: `Model ${ev.name} v${ev.version} loaded`, message: row.detail };
    } else if (ev.type === 'replaced') {
      row.version = ev.version;
      row.previous = ev.previous;
      row.detail = `model ${ev.name} v${ev.version} loaded, replaced v${ev.previous}`;
      alert = {
        severity: 'info',
        title: `Model ${ev.name} v${ev.version} loaded, replaced v${ev.previous}`,
        message:
          this.set.slots.get(ev.name)?.enabled === false
            ? `From ${ev.dir}; ${ev.name} is disabled: it does not vote until /models enable ${ev.name}.`
            : `From ${ev.dir}; the next candles use v${ev.version}.`,
      };
    } else if (ev.type === 'refused') {
      row.version = ev.serving;
      const keeps = ev.serving === null ? 'it does not vote until a good version lands' : `v${ev.serving} keeps serving`;
      row.detail = `${ev.error}; ${keeps}`;
      alert = { severity: 'warning', title: `Model ${ev.name}: new files refused`, message: `${row.detail}.` };
    } else if (ev.type === 'restored') {
      row.version = ev.version;
      row.detail = `the folder holds v${ev.version} again, the version serving: the refusal is cleared`;
      alert = {
        severity: 'info',
        title: `Model ${ev.name}: files restored`,
        message: `${ev.dir} holds v${ev.version} again, the version serving; the refusal is cleared.`,
      };
    } else {
      row.version = ev.version;
      row.detail = ev.error;
      alert = {
        severity: 'warning',
        title: `Model ${ev.name} v${ev.version} failed`,
        message: `${ev.error}. No trade on its output; the rest of the ensemble keeps voting.`,
      };
    }
    try {
      this.store.addEvent(row);
    } catch (e) {
      this.deps.log.warn({ err: e, model: ev.name }, 'model event not journaled');
    }
    if (alert !== null) this.deps.alerts.raise({ type: 'engine', ...alert, key: `model:${ev.name}:${ev.type}` });
  }

  // ---- predictions and outcomes (ModelObserver: called on the candle path, inside its transaction) ----

  candle(symbol: string, closeTs: number, close: number): void {
    const t = this.trackers.get(symbol);
    if (t === undefined || t.waiting === 0) return;
    const { scored, missed } = t.onClose(closeTs, close);
    // Its horizon candle never came: out of the open ones, counted nowhere.
    for (const p of missed) this.store.missed((p as typeof p & { id: number }).id, closeTs);
    for (const o of scored) {
      const p = o.prediction as typeof o.prediction & { id: number };
      this.store.score(p.id, o);
      const k = tallyKey(p.model, p.version);
      let ty = this.tallies.get(k);
      if (ty === undefined) this.tallies.set(k, (ty = { model: p.model, version: p.version, predictions: 0, directional: 0, hits: 0 }));
      ty.predictions++;
      if (o.hit === null) continue;
      ty.directional++;
      if (o.hit) ty.hits++;
      const name = label(p.model, p.version);
      this.deps.metrics?.prediction(name, o.hit ? 'hit' : 'miss');
      this.deps.metrics?.hitRatio(name, ty.hits / ty.directional);
      this.checkFloor(ty);
    }
  }

  predictions(
    symbol: string,
    closeTs: number,
    price: number,
    votes: ReadonlyArray<{ vote: ModelVote; model: LoadedModel }>,
    signal: Signal | null,
  ): void {
    const tracker = this.tracker(symbol);
    for (const { vote, model } of votes) {
      const lab = model.manifest.label;
      const row = this.store.addPrediction(symbol, {
        model: vote.model,
        version: vote.version,
        ts: closeTs,
        action: vote.action,
        confidence: vote.confidence,
        ...(vote.dist !== undefined ? { dist: vote.dist } : {}),
        ...(vote.value !== undefined ? { value: vote.value } : {}),
        horizon: lab.horizon,
        threshold: lab.threshold ?? 0,
        price,
      });
      tracker.add(row);
      this.deps.metrics?.prediction(label(vote.model, vote.version), 'pending');
    }
    if (signal !== null)
      this.store.addDecision(
        closeTs,
        symbol,
        signal.strategy,
        signal.action,
        signal.confidence ?? 0,
        signal.votes ?? [],
        signal.features ?? {},
      );
  }

  private checkFloor(t: VersionTally): void {
    const floor = this.cfg.models.minHitRate;
    if (floor === null || t.directional < this.cfg.models.minPredictions) return;
    const rate = t.hits / t.directional;
    if (!this.belowFloor.crossedBelow(tallyKey(t.model, t.version), rate, floor)) return;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    this.deps.alerts.raise({
      type: 'engine',
      severity: 'warning',
      title: `Model ${label(t.model, t.version)} below its hit-rate floor`,
      message: `Live hit rate ${pct(rate)} over ${t.directional} scored predictions, floor ${pct(floor)}. ${this.floorAction(t)}`,
      key: `model:${t.model}:floor`,
    });
  }

  /**
   * What the floor does to the model, in the alert's words: it is taken out only when configured, serving this
   * version, enabled, and not the last enabled model (setEnabled refuses that one: the alert must not say otherwise).
   */
  private floorAction(t: VersionTally): string {
    const slot = this.set.slots.get(t.model);
    const serving = slot?.current?.manifest.version;
    if (!this.cfg.models.disableBelowFloor) return 'It keeps voting (models.disableBelowFloor is off).';
    if (slot === undefined || serving !== t.version)
      return `v${t.version} no longer serves${serving !== undefined ? ` (v${serving} does)` : ''}: nothing to take out.`;
    if (!slot.enabled) return 'It was already out of the ensemble.';
    const r = this.setEnabled(t.model, false, 'hit-rate floor');
    if (r.ok) return 'Taken out of the ensemble (/models enable to put it back).';
    return `It keeps voting: ${r.text}`;
  }

  // ---- controls -------------------------------------------------------------------------------

  controls(): ModelControls {
    return {
      strategy: this.spec.name,
      mode: this.spec.config.mode,
      minConfidence: this.spec.config.minConfidence,
      list: () => this.list(),
      setEnabled: (name, enabled, by) => this.setEnabled(name, enabled, by),
      reload: (name) => this.reload(name),
      recentEvents: (limit) => this.store.recentEvents(limit),
    };
  }

  private list(): ModelView[] {
    return this.spec.config.members.map((m) => {
      const name = folderName(m.model);
      const slot = this.set.slots.get(name)!;
      const cur = slot.current;
      const last = this.store.lastPrediction(name);
      const live = cur === null ? undefined : this.store.summary(name, cur.manifest.version);
      return {
        name,
        version: cur?.manifest.version ?? null,
        weight: m.weight,
        enabled: slot.enabled,
        lastError: slot.lastError,
        last: last === undefined ? null : { ts: last.ts, action: last.action, confidence: last.confidence, version: last.version },
        live: live ?? null,
        training: cur?.manifest.metrics ?? {},
        horizon: cur?.manifest.label.horizon ?? null,
      };
    });
  }

  private setEnabled(name: string, enabled: boolean, by: string): { ok: boolean; text: string } {
    const slot = this.set.slots.get(name);
    if (slot === undefined)
      return { ok: false, text: `No model "${name}" in this ${this.spec.name}; known: ${[...this.set.slots.keys()].join(', ')}.` };
    if (slot.enabled === enabled) return { ok: false, text: `Model ${name} is already ${enabled ? 'enabled' : 'disabled'}.` };
    if (!enabled && [...this.set.slots.values()].filter((s) => s.enabled).length === 1)
      return { ok: false, text: `Model ${name} is the last enabled model; /pause stops entries instead.` };
    slot.enabled = enabled;
    const now = this.deps.wall.now();
    const disabled = [...this.set.slots.values()].filter((s) => !s.enabled).map((s) => s.name);
    writeDisabledModels(this.deps.journal, disabled, now);
    const text = `Model ${name} ${enabled ? 'enabled: it votes again' : 'disabled: it no longer votes'} (by ${by}).`;
    this.store.addEvent({
      ts: now,
      model: name,
      type: enabled ? 'enabled' : 'disabled',
      version: slot.current?.manifest.version ?? null,
      previous: null,
      detail: text,
    });
    return { ok: true, text };
  }

  private async reload(name?: string): Promise<string[]> {
    const names = name === undefined ? [...this.set.slots.keys()] : [name];
    const out: string[] = [];
    for (const n of names) {
      if (!this.set.slots.has(n)) {
        out.push(`No model "${n}"; known: ${[...this.set.slots.keys()].join(', ')}.`);
        continue;
      }
      const ev = await this.set.reload(n);
      const cur = this.set.slots.get(n)!.current;
      if (ev === null) out.push(`${n}: unchanged (v${cur?.manifest.version ?? '?'} serving).`);
      else if (ev.type === 'refused')
        out.push(`${n}: refused: ${ev.error}; ${ev.serving === null ? 'nothing serving' : `v${ev.serving} keeps serving`}.`);
      else if (ev.type === 'replaced') out.push(`${n}: v${ev.version} loaded, replaced v${ev.previous}.`);
      else if (ev.type === 'loaded') out.push(`${n}: v${ev.version} loaded.`);
    }
    return out;
  }
}
