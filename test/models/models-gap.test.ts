// A prediction is scored against the close exactly its horizon later. When that candle is missing (a gap in
// the data, downtime), it is marked missed: not scored against the next close, not reopened by a restart.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { tmpModels, writeTinyModel } from '../helpers/models.ts';
import { writeCandlesCsv } from '../../src/market/csv.ts';
import { generateCandles } from '../../src/market/generator.ts';
import { ModelJournal } from '../../src/models/predictions-journal.ts';

let h: Harness | undefined;
let root: string;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  rmSync(root, { recursive: true, force: true });
});

interface Row {
  ts: number;
  horizon: number;
  exit_price: number | null;
  hit: number | null;
  missed: number | null;
}

describe('a gap in the candles', () => {
  it('the predictions whose horizon candle is missing are not scored against the close after the gap, and stay closed after a restart', async () => {
    root = tmpModels();
    const model = await writeTinyModel(root, { name: 'up', lean: 'up' }); // 5-bar horizon
    const work = tempDir();
    const csv = join(work, 'gap.csv');
    const candles = generateCandles({ count: 300, seed: 3, oddities: { gaps: [{ at: 200, length: 60 }] } }); // an hour missing
    await writeCandlesCsv(csv, candles);
    const closes = new Set(candles.map((c) => c.ts + 60_000));
    const afterGap = candles[200]!.ts + 60_000;
    const config = { strategy: { name: 'model', model }, models: { dir: root, watch: false } };
    h = await startBot({ dir: work, replayFile: csv, config });

    const read = (): Row[] =>
      h!.bot.journal.sqlite.prepare('SELECT ts, horizon, exit_price, hit, missed FROM model_predictions').all() as Row[];
    const due = (r: Row): number => r.ts + r.horizon * 60_000;
    const all = read();
    const scored = all.filter((r) => r.exit_price !== null);
    const missed = all.filter((r) => r.missed !== null);
    expect(scored.length).toBeGreaterThan(100);
    // Every scored call was scored at a candle that exists at its horizon.
    for (const r of scored) expect(closes.has(due(r))).toBe(true);
    // The calls of the 5 bars before the gap: their horizon candle never came; none was scored at 1 h later.
    expect(missed.map((r) => r.ts)).toEqual(candles.slice(195, 200).map((c) => c.ts + 60_000));
    for (const r of missed) {
      expect(closes.has(due(r))).toBe(false);
      expect(r.exit_price).toBeNull();
      expect(r.hit).toBeNull();
      expect(r.missed).toBe(afterGap);
    }
    // Open are only the calls of the last 5 bars, whose horizon is after the file's end.
    const open = new ModelJournal(h.bot.journal.sqlite, 60_000).openPredictions();
    expect(open.map((p) => p.ts)).toEqual(candles.slice(-5).map((c) => c.ts + 60_000));
    const tallies = new ModelJournal(h.bot.journal.sqlite, 60_000).tallies();
    expect(tallies[0]!.predictions).toBe(scored.length);

    // A restart does not reload the missed calls, and scores none of them.
    await h.stop();
    h = await startBot({ dir: work, replayFile: csv, config });
    const again = read();
    expect(again.filter((r) => r.exit_price !== null)).toHaveLength(scored.length);
    expect(again.filter((r) => r.missed !== null)).toEqual(missed);
  });
});
