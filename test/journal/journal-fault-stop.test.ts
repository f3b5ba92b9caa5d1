// Issue 7.7: stopping after the journal filled up. Pending alert summaries must not make the stop
// throw; every step of the stop runs; the exit code stays 3. Real SQLite (max_page_count).
import { describe, expect, it } from 'vitest';
import { startBot } from '../helpers/harness.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);

describe('stop after a journal write failure', () => {
  it('grouped alerts pending at stop + a full journal: stop resolves, transports stop, exit code 3', async () => {
    const h = await startBot({
      candles: 20_000,
      waitForReplay: false,
      config: { risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 }, alerts: { coalesceSec: 600 } },
    });
    const rec = new RecordingTransport();
    let transportStopped = false;
    rec.stop = async () => {
      transportStopped = true;
    };
    const broken = new RecordingTransport();
    broken.stop = () => Promise.reject(new Error('socket already closed'));
    h.bot.notifier.add(broken); // a step that fails: the steps after it still run
    h.bot.notifier.add(rec);
    // A coalescing window with repeats: flushing it at stop writes a summary into the journal.
    for (let i = 0; i < 3; i++) h.bot.alerts.raise({ type: 'order_filled', severity: 'info', title: 'Filled', message: `fill ${i}` });
    const pages = h.bot.journal.sqlite.pragma('page_count', { simple: true }) as number;
    h.bot.journal.sqlite.pragma(`max_page_count = ${pages + 10}`);
    await within(h.bot.feedsDone(), 60_000, 'the feed to stop');
    expect(h.bot.journalHealth.fault).toMatchObject({ kind: 'write_failed', reason: 'database or disk is full' });
    // The disk stays full: every later journal write fails too (freed pages could take one more row).
    const full = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    h.bot.journal.recordAlert = full;
    h.bot.journal.setAlertDelivery = full;

    await expect(within(h.stop(), 30_000, 'the stop')).resolves.toBeUndefined();
    await within(h.bot.done, 1000, 'done');
    expect(transportStopped).toBe(true);
    expect(h.bot.exitCode).toBe(3);
  }, 90_000);
});
