// `npm run bench`: the figures the issues ask for, measured on this machine and printed.
// Targets are printed beside each figure; nothing here asserts (tests check behaviour, not speed).
import os from 'node:os';
import { benchBacktest } from './backtest.ts';
import { benchBacktestMemory } from './backtest-memory.ts';
import type { LatencyBench, LatencyMode } from './latency.ts';
import { benchMemory } from './memory.ts';
import { benchReplay } from './replay.ts';
import { benchResearch } from './research.ts';
import { benchStatus } from './status.ts';
import { benchStartup } from './startup.ts';
import { benchModelBacktest } from './models-batched.ts';
import { spawnSync } from 'node:child_process';
import { BOT_NODE_FLAGS } from './shipped.ts';

const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const line = (s: string) => process.stdout.write(s + '\n');

line(`Skipper benchmarks — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);

const bt = await benchBacktest();
line(
  `\n1. Backtest, full engine path (validation, strategy, risk, paper fills, journal of fills), sma-cross 10/30\n` +
    `   ${bt.source}: ${n(bt.candles)} candles, ${n(bt.fills)} fills; first pass in a fresh process, median of ${bt.runs.length} interleaved runs\n` +
    `   Skipper   ${n(bt.medianPerSec)} candles/s (best ${n(bt.bestPerSec)})   [target ≥ 3,000,000]; warm (5th pass in one process) ${n(bt.warmPerSec)}\n` +
    `   bare loop ${n(bt.bareFirstPerSec)} candles/s first pass, ${n(bt.bareWarmPerSec)} warm (typed arrays, same fills: ${bt.identicalFills ? 'identical' : 'DIFFERENT'})\n` +
    `   Skipper is ${n(bt.ratio, 1)}× slower than the bare loop's first pass   [target ≤ 3×]\n` +
    `   per fill ${n(bt.perFillUs, 1)} µs, per candle ${n(bt.perCandleUs, 2)} µs   [target per fill ≤ 3 µs]`,
);

const btm = await benchBacktestMemory();
line(
  `   memory: skipper backtest of ${n(btm.candles)} generated candles (CSV streamed), ${n(btm.seconds, 1)} s: max RSS ${n(btm.maxRssMb, 0)} MB   [target ≤ 150 MB]\n` +
    `     the 130,708-candle BTC file: ${n(btm.smallMaxRssMb, 0)} MB`,
);

// In a fresh process with the bot's own V8 flags (bin/skipper.js), not in this one's heap.
const latency = (mode: LatencyMode): LatencyBench => {
  const r = spawnSync(process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', 'bench/latency.ts', '10000', mode], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/latency.ts failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LatencyBench;
};
const lat = latency('live');
const latBusy = latency('back-to-back');
const slow = (l: Pick<LatencyBench, 'over1ms' | 'over1msPreempted'> & { over1msWithGc?: number }) =>
  `${l.over1ms} over 1 ms (` +
  [
    ...(l.over1msWithGc !== undefined ? [`${l.over1msWithGc} with a V8 collection inside`] : []),
    ...(l.over1msPreempted !== null ? [`${l.over1msPreempted} waited ≥ 0.5 ms for a CPU`] : []),
  ].join(', ') +
  ')';
const onCpu = (l: { maxOnCpuUs: number | null }) => (l.maxOnCpuUs !== null ? `; max on CPU ${n(l.maxOnCpuUs)} µs` : '');
line(
  `\n2. Decision latency, paper mode, journal on disk (${lat.journal}), ${n(lat.decisions)} decisions, fresh process as \`npm start\` runs\n` +
    `   candle close → order handed to the exchange: p50 ${n(lat.p50us)} µs, p99 ${n(lat.p99us)} µs, max ${n(lat.maxUs)} µs, ${slow(lat)}${onCpu(lat)}   [target p99 ≤ 500 µs, max ≤ 2,000 µs]\n` +
    `     each candle in its own event-loop turn, as a live bot gets them (V8 collects between decisions); "waited for a CPU":\n` +
    `     the main thread runnable but not running (run-queue delay, /proc/thread-self/schedstat); "on CPU": the max without it\n` +
    `   bare loop, ${n(lat.bare.iterations)} slices of arithmetic as long as the median decision, turned the same way: p50 ${n(lat.bare.p50us)} µs, p99 ${n(lat.bare.p99us)} µs, max ${n(lat.bare.maxUs)} µs, ${slow(lat.bare)}${onCpu(lat.bare)}\n` +
    `   candles back to back in one synchronous loop: p50 ${n(latBusy.p50us)} µs, p99 ${n(latBusy.p99us)} µs, max ${n(latBusy.maxUs)} µs, ${slow(latBusy)}${onCpu(latBusy)}\n` +
    `   candle close → its transaction committed:     p50 ${n(lat.committedP50us)} µs, p99 ${n(lat.committedP99us)} µs`,
);

const rp = await benchReplay(3);
line(
  `\n2b. Paper replay, \`run --replay FILE --speed max\`, journal on disk, ${rp.source}: ${n(rp.candles)} candles, ${n(rp.fills)} fills\n` +
    `   fresh process, the bot's own count, median of ${rp.replayRuns.length} (load ${rp.loads.map((x) => n(x, 1)).join(' / ')})\n` +
    `   replay   ${n(rp.replayPerSec)} candles/s (${rp.replayRuns.map((x) => n(x)).join(' / ')})   [target ≥ 200,000]\n` +
    `   baseline, the backtest of the same config and file (no per-candle persistence): ${n(rp.backtestPerSec)} candles/s; ` +
    `replay = ${n(rp.replayPerSec / rp.backtestPerSec, 2)}× the backtest\n` +
    `   the same replay with SMAs that never cross (no fills): ${n(rp.noFillPerSec)} candles/s; one fill (its orders, events, position, alerts, journaled) adds ${n(rp.perFillUs, 0)} µs`,
);

const mem = await benchMemory(1_000_000);
line(
  `\n3. Memory, paper replay of ${n(mem.candles)} candles (as \`npm start\` runs it), ${n(mem.seconds, 1)} s, ${n(mem.fills)} fills\n` +
    `   max RSS ${n(mem.maxRssMb, 1)} MB; RSS at 25/50/75/100 % of the run: ${mem.quartilesMb.map((x) => n(x, 0)).join(' / ')} MB   [target < 150 MB, flat]`,
);

const st = await benchStatus();
line(
  `\n4. /status end to end over Telegram (real grammY, fake Bot API), ${n(st.journalRows)} journal rows (seeded in ${n(st.seedSeconds, 1)} s), ${st.requests} requests\n` +
    `   update received → sendMessage issued: p50 ${n(st.p50ms, 2)} ms, p99 ${n(st.p99ms, 2)} ms, max ${n(st.maxMs, 2)} ms   [target p99 ≤ 10 ms]\n` +
    Object.entries(st.others)
      .map(([c, o]) => `   ${c} (${o.requests}): p50 ${n(o.p50ms, 2)} ms, p99 ${n(o.p99ms, 2)} ms, max ${n(o.maxMs, 2)} ms`)
      .join('\n'),
);
const rs = await benchResearch();
line(
  `\n5. Research (issue 11), ${rs.source}: ${n(rs.candles)} candles (a shared machine: compare figures of the same run only)\n` +
    `   backtest --config, default config (risk sizing, stops): median ${n(rs.configPerSec)} candles/s   [target ≥ 1,000,000]\n` +
    `     baseline, the reference backtest on the same candles in this run: ${n(rs.referencePerSec)} candles/s\n` +
    `   sweep of ${rs.sweep.sets} parameter sets: 2 workers ${n(rs.sweep.twoWorkersPerSec)} candles/s = ${n(rs.sweep.ratio, 2)}× 1 worker (${n(rs.sweep.oneWorkerPerSec)})   [target ≥ 1.7×, ≥ 1,500,000]\n` +
    `     medians of 3 interleaved pairs (1 worker, then 2); the pairs' ratios ${rs.sweep.ratios.map((r) => n(r, 2)).join(' / ')}\n` +
    `   skipper sweep of ${n(rs.memory.runs)} small runs (2 workers, ${n(rs.memory.seconds, 1)} s, as npm run skipper runs it): process max RSS (worker threads included) ${n(rs.memory.maxRssMb, 1)} MB   [target < 200 MB]\n` +
    `     baseline, the same sweep with ${rs.memory.baselineRuns} runs: ${n(rs.memory.baselineMaxRssMb, 1)} MB`,
);
const mb = benchModelBacktest();
line(
  `\n6. Models: the shipped 3-model ensemble (shared machine: figures vary with the load)\n` +
    `   backtest, batched inference ahead of the loop, ${mb.source}: ${n(mb.candles)} candles, ${n(mb.batchedPerSec)} candles/s end to end (fresh processes, median of 3)   [target ≥ 250,000]\n` +
    `   backtest, every member run per candle (a policy's path): ${n(mb.perCandlePerSec)} candles/s   [target ≥ 20,000]${mb.sameFills ? '' : '  (fills differ from the batched run!)'}\n` +
    `   (inference alone ${n(mb.inferencePerSec)} candles/s; baseline sma-cross in the same run ${n(mb.baselinePerSec)} candles/s)`,
);
const per = spawnSync(process.execPath, ['--import', 'tsx', 'bench/models.ts', '20000'], { encoding: 'utf8' });
line(
  per.stdout
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n') + (per.status === 0 ? '' : `   bench/models.ts failed: ${per.stderr.split('\n')[0]}`),
);
const su = await benchStartup();
line(
  `\n7. Start-up, fresh processes, median of ${su.runs} interleaved rounds (baseline: \`node -e 0\` ${n(su.nodeMs / 1000, 3)} s)\n` +
    `   skipper --help: ${n(su.helpMs / 1000, 3)} s   [target ≤ 0.25 s]\n` +
    `   npm start's command, default config (paper, SQLite journal, console chat) → ready line: ${n(su.readyMs / 1000, 3)} s   [target ≤ 0.8 s]\n` +
    `     CPU used by then: ${su.readyCpuMs === null ? 'n/a' : `${n(su.readyCpuMs / 1000, 2)} s`}; the first start (creates the journal): ${n(su.firstReadyMs / 1000, 3)} s`,
);
process.exit(0);
