// `skipper models list | check | train`. onnxruntime, protobufjs and the trainer load only inside the actions.
import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { counted } from '../core/format.ts';

const DEFAULT_DIR = 'models';

/** Model folders: the given ones, or every folder with a manifest under models/. */
function modelDirs(dirs: string[], root = DEFAULT_DIR): string[] {
  if (dirs.length > 0) return dirs;
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => statSync(d).isDirectory() && (existsSync(join(d, 'manifest.json')) || existsSync(join(d, 'model.onnx'))))
    .sort();
}

const pct = (x: number | undefined) => (x === undefined ? '—' : `${x >= 0.01 ? (x * 100).toFixed(1) : (x * 100).toPrecision(2)}%`);

export function addModelCommands(program: Command, fail: (e: unknown) => never): void {
  const models = program.command('models').description('ONNX models: list, check, train');

  models
    .command('list')
    .description('list the model folders with version, kind, features and training metrics')
    .option('--dir <dir>', 'models directory', DEFAULT_DIR)
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      try {
        const { readManifest } = await import('../models/loader.ts');
        const rows = modelDirs([], o.dir).map((dir) => {
          try {
            const m = readManifest(dir);
            return {
              dir,
              name: m.name,
              version: m.version,
              kind: m.kind,
              features: m.features.length,
              horizon: m.label.horizon,
              metrics: m.metrics,
              error: null,
            };
          } catch (e) {
            return { dir, error: (e as Error).message };
          }
        });
        if (o.json) {
          process.stdout.write(JSON.stringify(rows) + '\n');
          return;
        }
        if (rows.length === 0) process.stdout.write(`no model folders in ${o.dir}/\n`);
        for (const r of rows) {
          if (r.error !== null || !('name' in r)) {
            process.stdout.write(`${r.dir}: ${r.error}\n`);
            continue;
          }
          const m = r.metrics ?? {};
          process.stdout.write(
            `${r.dir}: ${r.name} v${r.version} ${r.kind}, ${r.features} features, horizon ${r.horizon} bars; ` +
              `out-of-sample hit rate ${pct(m.hit_rate)}, coverage ${pct(m.coverage)}${m.brier !== undefined ? `, Brier ${m.brier}` : ''}\n`,
          );
        }
      } catch (e) {
        fail(e);
      }
    });

  models
    .command('check [dirs...]')
    .description('check model folders as the bot does at load: manifest, sha256, opset, inputs/outputs, golden parity')
    .action(async (dirs: string[]) => {
      const { loadModel, checkGolden, readGolden, noDecisionsNote } = await import('../models/loader.ts');
      const list = modelDirs(dirs);
      if (list.length === 0) {
        process.stderr.write('skipper: no model folders to check\n');
        process.exit(1);
      }
      let bad = 0;
      for (const dir of list) {
        try {
          const m = await loadModel(dir, { golden: false });
          const g = await checkGolden(m, readGolden(dir));
          process.stdout.write(
            `${dir}: OK — ${m.label} ${m.manifest.kind}, ${m.manifest.features.length} features, golden ${g.rows} rows ` +
              `(features ≤ ${g.maxFeatureErr.toExponential(1)} rel, outputs ≤ ${g.maxOutputErr.toExponential(1)}` +
              `${g.decisions > 0 ? ', decided actions match' : ''})\n${g.decisions === 0 ? `  note: ${noDecisionsNote(dir)}\n` : ''}`,
          );
          m.retire();
        } catch (e) {
          bad++;
          process.stdout.write(`${dir}: FAILED — ${(e as Error).message}\n`);
        }
      }
      if (bad > 0) {
        process.stderr.write(`${bad} of ${counted(list.length, 'model folder')} failed\n`);
        process.exit(1);
      }
    });

  models
    .command('train')
    .description('train a small model on candle CSVs and write its folder (model.onnx, manifest.json, golden.json)')
    .requiredOption('--data <csv...>', 'training candle CSVs, in time order')
    .requiredOption('--out <dir>', 'model folder to write, e.g. models/NAME')
    .option('--kind <kind>', 'logreg, mlp or ridge', 'logreg')
    .option('--test <csv...>', 'held-out CSVs (default: the last 30 % of the rows)')
    .option('--horizon <bars>', 'label horizon in bars', (v) => Number(v), 15)
    .option('--seed <n>', 'random seed', (v) => Number(v), 1)
    .option('--version <n>', 'model version', (v) => Number(v), 1)
    .option('--name <name>', 'model name (default: the folder name)')
    .action(
      async (o: {
        data: string[];
        out: string;
        kind: string;
        test?: string[];
        horizon: number;
        seed: number;
        version: number;
        name?: string;
      }) => {
        try {
          const { trainModel, TRAINER_KINDS } = await import('../../training/train.ts');
          if (!(TRAINER_KINDS as readonly string[]).includes(o.kind))
            throw new Error(`unknown --kind "${o.kind}"; one of ${TRAINER_KINDS.join(', ')}`);
          for (const [k, v] of [
            ['horizon', o.horizon],
            ['seed', o.seed],
            ['version', o.version],
          ] as const)
            if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1))
              throw new Error(`--${k} must be a whole number${k === 'seed' ? '' : ' ≥ 1'}`);
          const r = await trainModel({
            data: o.data,
            out: resolve(o.out),
            kind: o.kind as (typeof TRAINER_KINDS)[number],
            horizon: o.horizon,
            seed: o.seed,
            version: o.version,
            ...(o.test ? { test: o.test } : {}),
            ...(o.name ? { name: o.name } : {}),
          });
          process.stdout.write(
            `${o.out}: ${o.kind} trained on ${r.trainRows} rows, tested on ${r.testRows}; sha256 ${r.sha256.slice(0, 12)}…\n` +
              `out-of-sample: ${Object.entries(r.metrics)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}\n`,
          );
        } catch (e) {
          fail(e);
        }
      },
    );
}
