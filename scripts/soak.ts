// Long crash-safety soak: `node --import tsx scripts/soak.ts [kills=200] [seed]`.
// The same loop as test/app/live-crash.test.ts, as long as you like; prints the invariants at the end.
import { crashLoop } from '../test/helpers/crash-loop.ts';

const kills = Number(process.argv[2] ?? 200);
const seed = Number(process.argv[3] ?? Date.now() % 100_000);
const t0 = performance.now();
const r = await crashLoop({ kills, seed, candles: Math.max(500, kills * 15), log: (l) => process.stdout.write(`${l}\n`) });
const ok =
  r.duplicateClientOrderIds.length === 0 &&
  r.missingFills.length === 0 &&
  r.extraFills.length === 0 &&
  r.duplicateFills.length === 0 &&
  Math.abs(r.journal.btc - r.venue.btc) < 1e-9 &&
  Math.abs(r.journal.cash - r.venue.usdt) < 1e-6;
console.log(
  JSON.stringify({ seed, seconds: Math.round((performance.now() - t0) / 1000), ...r, reconciliations: r.reconciliations.length }, null, 2),
);
console.log(ok ? 'SOAK OK' : 'SOAK FAILED');
process.exit(ok ? 0 : 1);
