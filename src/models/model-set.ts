// The models the bot is serving, one slot per folder. A new version is loaded and fully checked beside the
// old one and only then swapped in (strategies pick up a slot's model once per candle, so a swap always
// lands between two candles); a version that fails any check is refused and the old one keeps serving.
import { EventEmitter } from 'node:events';
import { basename, join, resolve } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { Timeframe } from '../core/types.ts';
import { loadModel, sha256Hex } from './loader.ts';
import { MANIFEST_FILE, MODEL_FILE } from './manifest.ts';
import { ModelError, type LoadedModel } from './model.ts';

export interface ModelSlot {
  /** The folder's name (models/<name>). */
  readonly name: string;
  readonly dir: string;
  /** The version serving now, or null (never loaded successfully). */
  current: LoadedModel | null;
  /** Taken out of the ensemble at run time (e.g. `/models disable`); its model stays loaded. */
  enabled: boolean;
  /** The last refusal or run-time failure, in plain words. */
  lastError: string | null;
}

/** What the bot turns into chat alerts and journal rows. */
export type ModelEvent =
  | { type: 'loaded'; name: string; version: number; dir: string }
  | { type: 'replaced'; name: string; version: number; previous: number; dir: string }
  | { type: 'refused'; name: string; dir: string; file: string; field: string; error: string; serving: number | null }
  /** After a refusal, the folder holds the serving version's files again: the refusal no longer stands. */
  | { type: 'restored'; name: string; version: number; dir: string }
  | { type: 'failed'; name: string; version: number; error: string };

export interface ModelSetEvents {
  model: [ModelEvent];
}

export class ModelSet extends EventEmitter<ModelSetEvents> {
  readonly slots = new Map<string, ModelSlot>();
  private readonly queue = new Map<string, Promise<ModelEvent | null>>();
  private readonly failures = new Map<string, string>();
  /** Slots whose last load was refused (their folder does not hold what they serve). */
  private readonly refused = new Set<string>();

  /**
   * `timeframe`: the candles the set's models run on (the bot's market.timeframe, a backtest's data); every
   * load, hot reloads too, refuses a model trained on another. Absent: not checked.
   */
  constructor(
    private readonly log?: Logger,
    private readonly opts: { timeframe?: Timeframe } = {},
  ) {
    super();
  }

  /** Loads a folder into its slot (creating it). Resolves with what happened; never rejects. */
  load(dir: string): Promise<ModelEvent | null> {
    const abs = resolve(dir);
    const name = basename(abs);
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = { name, dir: abs, current: null, enabled: true, lastError: null };
      this.slots.set(name, slot);
    }
    const s = slot;
    // One load at a time per slot: a burst of file events must not race two versions in.
    const run = (this.queue.get(name) ?? Promise.resolve(null)).then(() => this.swap(s));
    this.queue.set(name, run);
    return run;
  }

  /** Reloads a slot now (`/models reload`). */
  reload(name: string): Promise<ModelEvent | null> {
    const slot = this.slots.get(name);
    if (slot === undefined) return Promise.resolve(null);
    return this.load(slot.dir);
  }

  private async swap(slot: ModelSlot): Promise<ModelEvent | null> {
    const cur = slot.current;
    let next: LoadedModel;
    try {
      if (cur !== null && (await this.unchanged(cur))) return this.restored(slot, cur);
      next = await loadModel(slot.dir, { timeframe: this.opts.timeframe });
      if (cur !== null && next.manifest.version === cur.manifest.version && next.manifest.sha256 !== cur.manifest.sha256) {
        // Scores are kept per (model, version): another graph under the serving number would mix its record with this one's.
        next.retire();
        throw new ModelError(
          join(slot.dir, MANIFEST_FILE),
          'version',
          `version ${cur.manifest.version} is serving already, from another model file: publish this one as version ${cur.manifest.version + 1} or higher`,
        );
      }
    } catch (e) {
      const err = e instanceof ModelError ? e : new ModelError(slot.dir, 'load', (e as Error).message);
      slot.lastError = err.message;
      this.refused.add(slot.name);
      const ev: ModelEvent = {
        type: 'refused',
        name: slot.name,
        dir: slot.dir,
        file: err.file,
        field: err.field,
        error: err.message,
        serving: cur?.manifest.version ?? null,
      };
      this.log?.warn({ model: slot.name, file: err.file, field: err.field }, `model refused: ${err.message}`);
      this.emit('model', ev);
      return ev;
    }
    slot.current = next;
    slot.lastError = null;
    this.refused.delete(slot.name);
    const v = next.manifest.version;
    const ev: ModelEvent =
      cur === null
        ? { type: 'loaded', name: slot.name, version: v, dir: slot.dir }
        : { type: 'replaced', name: slot.name, version: v, previous: cur.manifest.version, dir: slot.dir };
    if (cur !== null) cur.retire(); // released once its in-flight runs finish
    this.log?.info(
      { model: slot.name, version: v },
      cur === null ? `model ${next.label} loaded` : `model ${next.label} loaded, replaced v${cur.manifest.version}`,
    );
    if (next.goldenNote !== null) this.log?.warn({ model: slot.name, version: v }, `model ${next.label}: ${next.goldenNote}`);
    this.emit('model', ev);
    return ev;
  }

  /** The folder holds the serving version again: a standing refusal is cleared (a run-time failure is not). */
  private restored(slot: ModelSlot, cur: LoadedModel): ModelEvent | null {
    if (!this.refused.delete(slot.name)) return null;
    slot.lastError = this.failures.get(`${slot.name}@${cur.manifest.version}`) ?? null;
    const ev: ModelEvent = { type: 'restored', name: slot.name, version: cur.manifest.version, dir: slot.dir };
    this.log?.info({ model: slot.name, version: ev.version }, `model ${cur.label}: folder restored, refusal cleared`);
    this.emit('model', ev);
    return ev;
  }

  /** Same manifest and same bytes as the serving version: nothing to do (a touch, an editor's save). */
  private async unchanged(cur: LoadedModel): Promise<boolean> {
    const { readFile } = await import('node:fs/promises');
    try {
      const [manifest, onnx] = await Promise.all([readFile(join(cur.dir, MANIFEST_FILE), 'utf8'), readFile(join(cur.dir, MODEL_FILE))]);
      const m = JSON.parse(manifest) as { version?: unknown; sha256?: unknown };
      return m.version === cur.manifest.version && m.sha256 === cur.manifest.sha256 && sha256Hex(onnx) === cur.manifest.sha256;
    } catch {
      return false; // unreadable now: let the full load say why
    }
  }

  /** A run-time failure of a serving model (NaN output, run error): logged and announced once per distinct error. */
  reportFailure(slot: ModelSlot, model: LoadedModel, error: string): void {
    slot.lastError = error;
    const key = `${slot.name}@${model.manifest.version}`;
    if (this.failures.get(key) === error) return;
    this.failures.set(key, error);
    this.log?.warn({ model: slot.name, version: model.manifest.version }, `model failed: ${error}`);
    this.emit('model', { type: 'failed', name: slot.name, version: model.manifest.version, error });
  }

  /** A serving model recovered (its next run succeeded): a later failure is announced again. */
  clearFailure(slot: ModelSlot, model: LoadedModel): void {
    if (this.failures.delete(`${slot.name}@${model.manifest.version}`)) slot.lastError = null;
  }

  /** Waits for pending loads, then releases every session (after their in-flight runs). */
  async close(): Promise<void> {
    await Promise.all(this.queue.values());
    for (const s of this.slots.values()) {
      s.current?.retire();
      s.current = null;
    }
  }
}
