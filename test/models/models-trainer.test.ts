// The TypeScript trainer: reproducible bytes on a rebuild, outputs the loader accepts, and the CLI's check.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { loadModel } from '../../src/models/loader.ts';
import { trainModel } from '../../training/train.ts';
import { tmpModels } from '../helpers/models.ts';

let root: string;
let csv: string;
beforeAll(async () => {
  root = tmpModels();
  csv = join(root, 'candles.csv');
  await generateCsv(csv, 900, 21);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('trainer', () => {
  it.each(['logreg', 'mlp', 'ridge'] as const)('%s: same data and seed → the same bytes; the loader accepts it', async (kind) => {
    const a = await trainModel({ data: [csv], out: join(root, `${kind}-a`), kind, name: kind, epochs: 2 });
    const b = await trainModel({ data: [csv], out: join(root, `${kind}-b`), kind, name: kind, epochs: 2 });
    expect(b.sha256).toBe(a.sha256);
    for (const f of ['model.onnx', 'manifest.json', 'golden.json'])
      expect(readFileSync(join(root, `${kind}-b`, f)).equals(readFileSync(join(root, `${kind}-a`, f))), f).toBe(true);
    // Every golden row carries what training decided (classifiers: with the probabilities by action).
    const golden = JSON.parse(readFileSync(join(root, `${kind}-a`, 'golden.json'), 'utf8')) as {
      rows: Array<{ action?: string; dist?: number[] }>;
    };
    for (const r of golden.rows) {
      expect(['sell', 'hold', 'buy']).toContain(r.action);
      expect(r.dist?.length).toBe(kind === 'ridge' ? undefined : 3);
    }
    const m = await loadModel(join(root, `${kind}-a`));
    expect(m.goldenNote).toBeNull();
    expect(m.manifest.kind).toBe(kind === 'ridge' ? 'regressor' : 'classifier');
    expect(m.manifest.metrics).toMatchObject({ test_rows: expect.any(Number), hit_rate: expect.any(Number), coverage: expect.any(Number) });
    expect(m.manifest.training).toMatchObject({ seed: 1, data: ['candles.csv'] });
    m.retire();
    if (kind === 'mlp') {
      const c = await trainModel({ data: [csv], out: join(root, `${kind}-c`), kind, name: kind, epochs: 2, seed: 2 });
      expect(c.sha256).not.toBe(a.sha256);
    }
  });

  it('refuses too little data', async () => {
    const tiny = join(root, 'tiny.csv');
    await generateCsv(tiny, 120, 1);
    await expect(trainModel({ data: [tiny], out: join(root, 'tiny'), kind: 'logreg' })).rejects.toThrow(/not enough data/);
  });

  it('`skipper models check` passes a shipped model and fails a corrupted copy with the reason (exit 1)', () => {
    const bin = join(PROJECT_ROOT, 'bin', 'skipper.js');
    const good = join(PROJECT_ROOT, 'models', 'btc-logreg');
    const bad = join(root, 'corrupt');
    cpSync(good, bad, { recursive: true });
    writeFileSync(join(bad, 'model.onnx'), Buffer.concat([readFileSync(join(bad, 'model.onnx')), Buffer.from([1, 2])]));
    const swapped = join(root, 'swapact');
    cpSync(good, swapped, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(swapped, 'manifest.json'), 'utf8'));
    writeFileSync(join(swapped, 'manifest.json'), JSON.stringify({ ...manifest, actions: ['buy', 'hold', 'sell'] }));
    const old = join(root, 'old-golden');
    cpSync(good, old, { recursive: true });
    const golden = JSON.parse(readFileSync(join(old, 'golden.json'), 'utf8'));
    golden.rows = golden.rows.map(({ action: _a, dist: _d, ...r }: Record<string, unknown>) => r);
    writeFileSync(join(old, 'golden.json'), JSON.stringify(golden));
    let out = '';
    let status = 0;
    try {
      execFileSync('node', [bin, 'models', 'check', good, bad, swapped, old], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const err = e as { status: number; stdout: string };
      status = err.status;
      out = err.stdout;
    }
    expect(status).toBe(1);
    expect(out).toMatch(/btc-logreg: OK — btc-logreg v1 classifier, 20 features, golden 25 rows/);
    expect(out).toMatch(/corrupt: FAILED — .*corrupt\/model\.onnx: sha256: is [0-9a-f]{12}…, the manifest says/);
    expect(out).toMatch(/btc-logreg: OK — .*, decided actions match\)\n/);
    expect(out).toMatch(/swapact: FAILED — .*swapact\/manifest\.json: actions: 25 of 25 golden rows decode unlike the training run/);
    expect(out).toMatch(/old-golden: OK — .*\)\n {2}note: .*old-golden\/golden\.json carries no decided actions \(an older export\)/);
  });
});
