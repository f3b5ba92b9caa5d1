import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { defineCommand, deskOf, bytes, duration, kv, utc, sampleHealth, startLoopMonitor, engineTimeNote, versionLine } from './kit.ts';

const size = async (path: string): Promise<number | null> => {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
};

export default defineCommand({
  name: 'health',
  description: 'Version, process CPU, memory, event-loop lag, feeds, venue, journal size, uptime',
  minRole: 'viewer',
  async run({ services }) {
    // The lag monitor starts on first use; give it a moment so the first answer has numbers.
    if (startLoopMonitor()) await delay(250);
    const h = sampleHealth();
    const now = services.clock.now();
    // An age needs both times on one clock: only when the engine runs on the wall clock (live).
    const kind = services.engine.clockKind;
    const st = services.engine.status();
    const pairs: Array<[string, string]> = [
      ['Version', versionLine()],
      ['Uptime', `${duration(now - services.startedAt)} (process ${duration(process.uptime() * 1000)})`],
      [
        'CPU',
        `${h.cpuPct.toFixed(1)}% of one core over ${duration(h.windowMs)}; ${h.cores} cores, load ${h.loadavg.map((x) => x.toFixed(2)).join(' ')}`,
      ],
      ['Memory', `RSS ${bytes(h.rss)}, heap ${bytes(h.heapUsed)} / ${bytes(h.heapTotal)}`],
      [
        'Event loop lag',
        h.lag
          ? `p50 ${h.lag.p50.toFixed(1)} ms, p99 ${h.lag.p99.toFixed(1)} ms, max ${h.lag.max.toFixed(1)} ms`
          : 'no samples since the last /health; ask again in a moment',
      ],
    ];
    const v = services.venue();
    pairs.push([
      'Venue',
      `${deskOf(services).venue().name}: ${v.up ? 'up' : 'DOWN'}${v.detail ? ` (${v.detail})` : ''}${v.since !== undefined ? ` since ${utc(v.since)}` : ''}`,
    ]);
    const feeds = services.feeds();
    if (!feeds.length) pairs.push(['Feeds', 'none']);
    for (const f of feeds) {
      const ts = st.lastCandle[f.symbol]?.ts ?? f.state.lastCandleTs;
      const last =
        ts === undefined || !Number.isFinite(ts)
          ? 'no candle yet'
          : kind === 'wall'
            ? `last candle ${duration(now - ts)} ago`
            : `last candle ${utc(ts)}${engineTimeNote(kind)}`;
      pairs.push([`Feed ${f.symbol}`, `${f.state.status}${f.state.detail ? ` (${f.state.detail})` : ''} — ${last}`]);
    }
    const path = services.journal.path;
    if (path === ':memory:') pairs.push(['Journal', 'in memory']);
    else {
      const [db, wal] = await Promise.all([size(path), size(`${path}-wal`)]);
      pairs.push(['Journal', `${bytes(db ?? 0)} + WAL ${bytes(wal ?? 0)}`]);
    }
    const journalFault = services.journalFault?.() ?? null;
    if (journalFault) pairs.push(['Journal state', `FAILED — ${journalFault}`]);
    if (services.logFile) {
      const lf = await size(services.logFile);
      pairs.push(['Log file', lf === null ? 'not created yet' : bytes(lf)]);
    }
    return { title: 'Health', text: kv(pairs), mono: true, ...(journalFault ? { severity: 'critical' as const } : {}) };
  },
});
