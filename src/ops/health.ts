// Process health for /health: CPU since the previous sample, memory, and event-loop lag from one
// lazily started perf_hooks monitor (shared by every transport in the process).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';

const RESOLUTION_MS = 20;

let hist: IntervalHistogram | undefined;
let prev: { cpu: NodeJS.CpuUsage; at: bigint } | undefined;

export interface HealthSample {
  /** CPU time used as a percent of one core over `windowMs`. */
  cpuPct: number;
  windowMs: number;
  cores: number;
  loadavg: number[];
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Event-loop lag in ms since the previous sample; null until the monitor has data. */
  lag: { p50: number; p99: number; max: number; samples: number } | null;
}

/** Start the event-loop monitor once. Returns true when this call started it. */
export function startLoopMonitor(): boolean {
  if (hist) return false;
  hist = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  hist.enable();
  return true;
}

/** Read (and reset) the counters: each sample covers the time since the previous one. */
export function sampleHealth(): HealthSample {
  startLoopMonitor();
  const at = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  // First sample: average since the process started.
  const base = prev ?? { cpu: { user: 0, system: 0 }, at: at - BigInt(Math.round(process.uptime() * 1e9)) };
  const windowMs = Number(at - base.at) / 1e6;
  const usedMs = (cpu.user - base.cpu.user + cpu.system - base.cpu.system) / 1000;
  prev = { cpu, at };
  const mem = process.memoryUsage();
  let lag: HealthSample['lag'] = null;
  if (hist && hist.count > 0) {
    // The histogram measures the whole timer period: the lag is what exceeds the resolution.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    lag = { p50: ms(hist.percentile(50)), p99: ms(hist.percentile(99)), max: ms(hist.max), samples: hist.count };
    hist.reset();
  }
  return {
    cpuPct: windowMs > 0 ? (usedMs / windowMs) * 100 : 0,
    windowMs,
    cores: cpus().length,
    loadavg: loadavg(),
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    lag,
  };
}
