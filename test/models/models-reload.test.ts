// Hot reload: a new version landing in the folder is checked and swapped in; a broken or half-written one is
// refused while the old version keeps serving; a replaced session is released only after its in-flight runs.
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelSet, type ModelEvent } from '../../src/models/model-set.ts';
import { ModelWatcher } from '../../src/models/watcher.ts';
import { tmpModels, writeTinyModel } from '../helpers/models.ts';

let root: string;
let set: ModelSet;
let watcher: ModelWatcher;
let events: ModelEvent[];

/** Resolves with the next model event. */
const next = (): Promise<ModelEvent> => new Promise((resolve) => set.once('model', resolve));

beforeEach(async () => {
  root = tmpModels();
  set = new ModelSet(undefined, { timeframe: '1m' }); // as the bot's: its market.timeframe
  events = [];
  set.on('model', (e) => events.push(e));
  await set.load(await writeTinyModel(root, { name: 'm', lean: 'up', version: 1 }));
  watcher = new ModelWatcher(set, root, { debounceMs: 40, addNew: true });
  watcher.start();
});
afterEach(async () => {
  watcher.stop();
  await set.close();
  rmSync(root, { recursive: true, force: true });
});

/** Builds version `v` of model m in a staging folder and returns its files. */
/** Version 2 published over the served one with its manifest edited; the event the set raised. */
async function publishEdited(edit: (manifest: Record<string, unknown>) => void): Promise<ModelEvent> {
  const v2 = await stage(2);
  const m = JSON.parse(v2.manifest.toString()) as Record<string, unknown>;
  edit(m);
  const got = next();
  writeFileSync(join(root, 'm', 'model.onnx'), v2.onnx);
  writeFileSync(join(root, 'm', 'golden.json'), v2.golden);
  writeFileSync(join(root, 'm', 'manifest.json'), JSON.stringify(m));
  return got;
}

async function stage(v: number, lean: 'up' | 'down' = 'down'): Promise<{ onnx: Buffer; golden: Buffer; manifest: Buffer }> {
  const staging = join(root, '..', `${root.split('/').pop()}-staging-${v}`);
  mkdirSync(staging, { recursive: true });
  const dir = await writeTinyModel(staging, { name: 'm', lean, version: v });
  const read = (f: string) => readFileSync(join(dir, f));
  const files = { onnx: read('model.onnx'), golden: read('golden.json'), manifest: read('manifest.json') };
  rmSync(staging, { recursive: true, force: true });
  return files;
}

describe('hot reload', () => {
  it('a new version (model file first, manifest last) is loaded, checked and swapped in: "replaced"', async () => {
    const slot = set.slots.get('m')!;
    const v1 = slot.current!;
    expect(events).toEqual([expect.objectContaining({ type: 'loaded', name: 'm', version: 1 })]);
    const v2 = await stage(2);
    const dir = join(root, 'm');
    const got = next();
    writeFileSync(join(dir, 'model.onnx'), v2.onnx);
    writeFileSync(join(dir, 'golden.json'), v2.golden);
    writeFileSync(join(dir, 'manifest.json'), v2.manifest);
    const ev = await got;
    expect(ev).toMatchObject({ type: 'replaced', name: 'm', version: 2, previous: 1 });
    expect(slot.current!.manifest.version).toBe(2);
    expect(v1.alive).toBe(false); // nothing was running on it: released at once
    expect((await slot.current!.predict([0.003, 0.5, 0])).action).toBe('sell'); // v2 leans down
  });

  it("another model under the serving version number is refused: its scores would be mixed with the old one's", async () => {
    const slot = set.slots.get('m')!;
    const other = await stage(1, 'down'); // also "version 1", another graph
    const got = next();
    writeFileSync(join(root, 'm', 'model.onnx'), other.onnx);
    writeFileSync(join(root, 'm', 'golden.json'), other.golden);
    writeFileSync(join(root, 'm', 'manifest.json'), other.manifest);
    const ev = await got;
    expect(ev).toMatchObject({ type: 'refused', name: 'm', field: 'version', serving: 1 });
    expect(ev.type === 'refused' && ev.error).toMatch(
      /version 1 is serving already, from another model file: publish this one as version 2 or higher/,
    );
    expect((await slot.current!.predict([0.003, 0.5, 0])).action).toBe('buy'); // the old v1 (leans up) still serves
  });

  it('an atomic rename-replace of the whole folder is caught by the directory watch', async () => {
    const v2 = await stage(2);
    const tmp = join(root, '.m-new');
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'model.onnx'), v2.onnx);
    writeFileSync(join(tmp, 'golden.json'), v2.golden);
    writeFileSync(join(tmp, 'manifest.json'), v2.manifest);
    const got = next();
    rmSync(join(root, 'm'), { recursive: true });
    renameSync(tmp, join(root, 'm'));
    expect(await got).toMatchObject({ type: 'replaced', version: 2 });
  });

  it('a broken file is refused with the file and the reason, and the old version keeps serving; the file put back clears it', async () => {
    const slot = set.slots.get('m')!;
    const v1 = slot.current;
    writeFileSync(join(slot.dir, '..', 'm.onnx.good'), readFileSync(join(slot.dir, 'model.onnx')));
    const got = next();
    writeFileSync(join(root, 'm', 'model.onnx'), Buffer.from('garbage'));
    const ev = await got;
    expect(ev).toMatchObject({ type: 'refused', name: 'm', field: 'sha256', serving: 1 });
    expect((ev as { file: string }).file).toMatch(/m\/model\.onnx$/);
    expect(slot.current!.manifest.version).toBe(1);
    expect(slot.current!.alive).toBe(true);
    expect((await slot.current!.predict([0.003, 0.5, 0])).action).toBe('buy');
    expect(slot.lastError).toMatch(/sha256/);

    // The good file put back: the refusal is cleared (it showed in /models until a new version landed).
    const back = next();
    writeFileSync(join(root, 'm', 'model.onnx'), readFileSync(join(slot.dir, '..', 'm.onnx.good')));
    expect(await back).toMatchObject({ type: 'restored', name: 'm', version: 1 });
    expect(slot.lastError).toBeNull();
    expect(slot.current).toBe(v1);
  });

  it('half-written (model file replaced, manifest not yet) is refused; when the manifest lands it is loaded', async () => {
    const slot = set.slots.get('m')!;
    const v2 = await stage(2);
    const refused = next();
    writeFileSync(join(root, 'm', 'model.onnx'), v2.onnx);
    expect(await refused).toMatchObject({ type: 'refused', field: 'sha256', serving: 1 });
    expect(slot.current!.manifest.version).toBe(1);
    const replaced = next();
    writeFileSync(join(root, 'm', 'golden.json'), v2.golden);
    writeFileSync(join(root, 'm', 'manifest.json'), v2.manifest);
    expect(await replaced).toMatchObject({ type: 'replaced', version: 2, previous: 1 });
  });

  it('a version whose action map is reversed is refused, naming the rows that flip; the old version keeps serving', async () => {
    const slot = set.slots.get('m')!;
    const ev = await publishEdited((m) => (m['actions'] = ['buy', 'hold', 'sell']));
    expect(ev).toMatchObject({ type: 'refused', field: 'actions', serving: 1 });
    expect((ev as { error: string }).error).toMatch(/m\/manifest\.json: actions: \d+ of \d+ golden rows decode unlike the training run/);
    expect(slot.current!.manifest.version).toBe(1);
    expect((await slot.current!.predict([0.003, 0.5, 0])).action).toBe('buy');
  });

  it('a version trained on another timeframe than the set runs on is refused; the old version keeps serving', async () => {
    const ev = await publishEdited((m) => (m['timeframe'] = '1h'));
    expect(ev).toMatchObject({ type: 'refused', field: 'timeframe', serving: 1 });
    expect((ev as { error: string }).error).toMatch(/m\/manifest\.json: timeframe: trained on 1h candles, run on 1m:/);
    expect(set.slots.get('m')!.current!.manifest.version).toBe(1);
  });

  it('a version whose graph disagrees with its manifest is refused (shapes)', async () => {
    const v2 = await stage(2);
    const m = JSON.parse(v2.manifest.toString());
    m.features.push({ name: 'atr', fn: 'atr', window: 3 });
    m.input.shape = ['batch', 4];
    const got = next();
    writeFileSync(join(root, 'm', 'model.onnx'), v2.onnx);
    writeFileSync(join(root, 'm', 'manifest.json'), JSON.stringify(m));
    expect(await got).toMatchObject({ type: 'refused', field: 'input.shape', serving: 1 });
  });

  it('the old session is released only after its in-flight run finishes', async () => {
    const slot = set.slots.get('m')!;
    const v1 = slot.current!;
    const v2 = await stage(2);
    const inflight = v1.predict([0.003, 0.5, 0]); // queued on v1 before the swap
    writeFileSync(join(root, 'm', 'model.onnx'), v2.onnx);
    writeFileSync(join(root, 'm', 'golden.json'), v2.golden);
    writeFileSync(join(root, 'm', 'manifest.json'), v2.manifest);
    await expect(inflight).resolves.toMatchObject({ action: 'buy' });
    const ev = await (slot.current!.manifest.version === 2 ? Promise.resolve(events.at(-1)!) : next());
    expect(ev).toMatchObject({ type: 'replaced' });
    expect(v1.alive).toBe(false);
  });

  it('retire() while a run is in flight waits for it', async () => {
    const m = set.slots.get('m')!.current!;
    const run = m.predict([0.001, 0.5, 0]);
    m.retire();
    expect(m.alive).toBe(true);
    await expect(run).resolves.toBeDefined();
    expect(m.alive).toBe(false);
  });

  it('touching the files without changing them does nothing; a new folder is loaded', async () => {
    const dir = join(root, 'm');
    writeFileSync(join(dir, 'manifest.json'), readFileSync(join(dir, 'manifest.json')));
    await new Promise((r) => setTimeout(r, 200));
    expect(events.map((e) => e.type)).toEqual(['loaded']);
    const got = next();
    cpSync(dir, join(root, 'm2'), { recursive: true });
    expect(await got).toMatchObject({ type: 'loaded', name: 'm2' });
  });

  it('a strategy picks up the new version at the next candle, never mid-candle', async () => {
    const { ModelStrategy } = await import('../../src/models/strategy.ts');
    const { testCandles } = await import('../helpers/models.ts');
    const s = new ModelStrategy({
      name: 'model',
      symbol: 'BTC/USDT',
      set,
      members: [{ model: 'm', weight: 1 }],
      mode: 'vote',
      minConfidence: 0,
      timeframeMs: 60_000,
    });
    const ctx = { symbol: 'BTC/USDT', position: null, pending: false, allowShort: true } as const;
    const cs = testCandles(40, 4);
    const versions: number[] = [];
    const v2 = await stage(2);
    for (let i = 0; i < cs.length; i++) {
      await s.prepare(cs[i]!, ctx);
      if (i === 20) {
        // v2 lands while candle 20 has been prepared with v1 and not yet decided.
        const got = next();
        writeFileSync(join(root, 'm', 'model.onnx'), v2.onnx);
        writeFileSync(join(root, 'm', 'golden.json'), v2.golden);
        writeFileSync(join(root, 'm', 'manifest.json'), v2.manifest);
        await got;
      }
      const sig = s.onCandle(cs[i]!, ctx);
      if (sig) versions.push(sig.votes![0]!.version * 1000 + i);
    }
    const before = versions.filter((v) => v < 2000).map((v) => v % 1000);
    const after = versions.filter((v) => v >= 2000).map((v) => v % 1000);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.max(...before)).toBeLessThanOrEqual(20);
    expect(Math.min(...after)).toBeGreaterThan(20);
  });

  it('reload(name) forces a reload (/models reload)', async () => {
    expect(await set.reload('m')).toBeNull(); // unchanged
    expect(await set.reload('nope')).toBeNull();
  });
});
