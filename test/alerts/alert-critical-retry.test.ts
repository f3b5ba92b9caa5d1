// A critical alert a channel fails to take (Telegram's 429s beyond its client's retries, a network
// error) is tried again until it goes out; each attempt is journaled, and the alert's delivery follows
// the channels' latest outcome. Other severities are not retried.
import { afterEach, describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerts/service.ts';
import type { Alert } from '../../src/core/alerts.ts';
import { SimClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Journal } from '../../src/journal/journal.ts';
import { until } from '../helpers/venue-time.ts';

const services: AlertService[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.close();
});

/** A channel that refuses its first `failures` posts, and a console that always takes them. */
function setup(failures: number) {
  const journal = Journal.memory();
  const alerts = new AlertService(journal, new SimClock(Date.UTC(2026, 0, 10)), silentLogger(), {
    coalesceMs: 60_000,
    minSeverity: 'info',
    criticalRetryMs: [20, 20, 20],
  });
  services.push(alerts);
  const got: Alert[] = [];
  let refusals = failures;
  alerts.addChannel({
    name: 'telegram:-100777',
    deliver: async (a) => {
      if (refusals-- > 0) throw new Error('Telegram post failed (429): Too Many Requests: retry after 1');
      got.push(a);
    },
  });
  alerts.addChannel({ name: 'console', deliver: () => undefined });
  return { journal, alerts, got };
}

describe('critical alerts a channel failed to take', () => {
  it('are tried again until they go out; every attempt is journaled; the delivery ends "sent"', async () => {
    const { journal, alerts, got } = setup(2);
    alerts.raise({ type: 'engine', severity: 'critical', title: 'BTC/USDT position UNPROTECTED', message: 'no stop at the venue' });
    await until(() => got.length === 1, 'the alert delivered on a retry', 2000);
    const [row] = journal.recentAlerts(1);
    await until(() => journal.alertDeliveries(row!.id).length === 4, 'four delivery rows', 2000);
    expect(journal.alertDeliveries(row!.id).map((d) => [d.channel, d.status])).toEqual([
      ['console', 'sent'],
      ['telegram:-100777', 'failed'],
      ['telegram:-100777', 'failed'],
      ['telegram:-100777', 'sent'],
    ]);
    expect(journal.recentAlerts(1)[0]!.delivery).toBe('sent');
    expect(got.map((a) => a.title)).toEqual(['BTC/USDT position UNPROTECTED']);
  });

  it('give up after the last retry (delivery "partial"); a warning is not retried', async () => {
    const { journal, alerts, got } = setup(100);
    alerts.raise({ type: 'engine', severity: 'critical', title: 'Trading halted', message: 'x' });
    alerts.raise({ type: 'feed_down', severity: 'warning', title: 'Feed down', message: 'y' });
    await new Promise((r) => setTimeout(r, 300));
    const [warning, critical] = journal.recentAlerts(2);
    expect(
      journal
        .alertDeliveries(critical!.id)
        .filter((d) => d.channel.startsWith('telegram'))
        .map((d) => d.status),
    ).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(journal.recentAlerts(2)[1]!.delivery).toBe('partial');
    expect(
      journal
        .alertDeliveries(warning!.id)
        .filter((d) => d.channel.startsWith('telegram'))
        .map((d) => d.status),
    ).toEqual(['failed']);
    expect(got).toEqual([]);
  });
});
