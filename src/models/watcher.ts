// Hot reload: watches the models directory and each model folder (fs.watch on directories: watching a file
// misses atomic rename-replaces) and reloads a folder once its files have been quiet for `debounceMs`.
// The protocol for publishing a version: write model.onnx (and golden.json), then manifest.json last.
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Logger } from '../core/logger.ts';
import { MANIFEST_FILE } from './manifest.ts';
import type { ModelSet } from './model-set.ts';

export interface WatcherOptions {
  /** Quiet time after the last file event before a folder is reloaded (default 300 ms). */
  debounceMs?: number;
  /** Load folders that appear later under the root (default: only folders already in the set). */
  addNew?: boolean;
  logger?: Logger;
}

export class ModelWatcher {
  private readonly root: string;
  private rootWatcher: FSWatcher | null = null;
  private readonly dirWatchers = new Map<string, { w: FSWatcher; ino: number }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly debounceMs: number;
  private stopped = false;

  constructor(
    private readonly set: ModelSet,
    root: string,
    private readonly opts: WatcherOptions = {},
  ) {
    this.root = resolve(root);
    this.debounceMs = opts.debounceMs ?? 300;
  }

  start(): void {
    this.rootWatcher = watch(this.root, (_ev, name) => {
      if (name === null || name.toString().startsWith('.')) return; // hidden: staging folders of an atomic replace
      const dir = join(this.root, name.toString());
      if (this.set.slots.has(name.toString()) || this.opts.addNew === true) this.schedule(dir);
    });
    this.rootWatcher.on('error', (e) => this.opts.logger?.warn({ err: e }, 'models directory watch failed'));
    for (const s of this.set.slots.values()) this.watchDir(s.dir);
  }

  stop(): void {
    this.stopped = true;
    this.rootWatcher?.close();
    for (const d of this.dirWatchers.values()) d.w.close();
    this.dirWatchers.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** (Re)attaches a watcher to a model folder: a folder replaced by a rename needs a new one. */
  private watchDir(dir: string): void {
    if (this.stopped || !existsSync(dir) || !statSync(dir).isDirectory()) return;
    const ino = statSync(dir).ino;
    const cur = this.dirWatchers.get(dir);
    if (cur !== undefined && cur.ino === ino) return;
    cur?.w.close();
    try {
      const w = watch(dir, () => this.schedule(dir));
      w.on('error', () => {
        w.close();
        if (this.dirWatchers.get(dir)?.w === w) this.dirWatchers.delete(dir);
      });
      this.dirWatchers.set(dir, { w, ino });
    } catch (e) {
      this.opts.logger?.warn({ err: e, dir }, 'cannot watch model folder');
    }
  }

  private schedule(dir: string): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(dir));
    this.timers.set(
      dir,
      setTimeout(() => {
        this.timers.delete(dir);
        this.watchDir(dir);
        // A new folder is loaded once its manifest (written last) is there; its own watch tells us when.
        if (!this.set.slots.has(basename(dir)) && !existsSync(join(dir, MANIFEST_FILE))) return;
        void this.set.load(dir);
      }, this.debounceMs),
    );
  }
}
