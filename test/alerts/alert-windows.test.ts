// Coalescing windows close on the alert clock, not only when the service's wall-time timer fires: a
// fast replay raises thousands of alerts between two timer ticks.
import { describe, expect, it } from 'vitest';
import { AlertService } from '../../src/alerts/service.ts';
import type { Alert } from '../../src/core/alerts.ts';
import { SimClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Journal } from '../../src/journal/journal.ts';

const T0 = Date.UTC(2026, 0, 10, 12);

function service() {
  const journal = Journal.memory();
  const clock = new SimClock(T0);
  const sent: Alert[] = [];
  const alerts = new AlertService(journal, clock, silentLogger(), { coalesceMs: 60_000, minSeverity: 'info', stormLimit: 1_000 });
  alerts.addChannel({ name: 'console', deliver: (a) => void sent.push(a) });
  return { journal, clock, sent, alerts };
}

const filled = (title: string) => ({
  type: 'order_filled' as const,
  severity: 'info' as const,
  title,
  message: 'filled',
  figures: { qty: 0.1, unit: 'BTC' },
});

describe('alert coalescing windows', () => {
  it('a window that has expired on the clock closes when the next alert comes, with its summary, timer or not', () => {
    const { clock, sent, alerts } = service();
    alerts.raise(filled('Bought BTC'));
    clock.set(T0 + 10_000);
    alerts.raise(filled('Bought BTC')); // a repeat: coalesced
    expect(sent.map((a) => a.title)).toEqual(['Bought BTC']);
    clock.set(T0 + 61_000);
    alerts.raise(filled('Sold ETH')); // another key, after the first window ended
    expect(sent.map((a) => a.title)).toEqual(['Bought BTC', 'Bought BTC ×2', 'Sold ETH']);
    alerts.close();
  });

  it('a replay of distinct alerts holds one open window at a time, not one per alert', () => {
    const { clock, sent, alerts } = service();
    for (let i = 0; i < 300; i++) {
      clock.set(T0 + i * 60_000);
      alerts.raise(filled(`Trade T${i} opened`));
    }
    expect(sent).toHaveLength(300);
    expect((alerts as unknown as { windows: Map<string, unknown> }).windows.size).toBe(1);
    alerts.close();
  });

  it('a summary of one key whose titles differ names the latest, not the first repeated', () => {
    const { clock, sent, alerts } = service();
    const loaded = (v: number) => ({
      type: 'engine' as const,
      severity: 'info' as const,
      title: `Model m v${v} loaded, replaced v${v - 1}`,
      message: `the next candles use v${v}`,
      key: 'model:m:loaded',
    });
    alerts.raise(loaded(2));
    clock.set(T0 + 2_000);
    alerts.raise(loaded(3));
    alerts.flush();
    expect(sent.map((a) => a.title)).toEqual(['Model m v2 loaded, replaced v1', 'Model m v3 loaded, replaced v2 (latest of 2)']);
    expect(sent[1]!.message).toBe('2 in 2 s; the first: Model m v2 loaded, replaced v1; the last: the next candles use v3');
    alerts.close();
  });
});
