import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from '../../src/core/logger.ts';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  return { log, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('log lines never carry a secret', () => {
  it('masks secret fields at any depth, whatever their case', () => {
    const { log, json } = capture();
    log.info(
      {
        apiKey: 'k1',
        venue: { credentials: { Secret: 's1', password: 'p1' }, headers: { Authorization: 'Bearer x', 'X-MBX-APIKEY': 'k2' } },
        list: [{ token: 't1', botToken: 'b1' }],
        kept: { symbol: 'BTC/USDT', qty: 0.5, token: null },
      },
      'placed',
    );
    const [l] = json();
    expect(l).toMatchObject({
      apiKey: '[REDACTED]',
      venue: {
        credentials: { Secret: '[REDACTED]', password: '[REDACTED]' },
        headers: { Authorization: '[REDACTED]', 'X-MBX-APIKEY': '[REDACTED]' },
      },
      list: [{ token: '[REDACTED]', botToken: '[REDACTED]' }],
      kept: { symbol: 'BTC/USDT', qty: 0.5, token: null },
      msg: 'placed',
    });
  });

  it('scrubs known secret values and credential shapes inside strings, messages and errors', () => {
    registerSecret('hunter2-registered-secret');
    const { log, lines } = capture();
    const tgToken = `123456789:${'A'.repeat(35)}`;
    log.warn({ url: 'https://x.test/?key=hunter2-registered-secret' }, `bot ${tgToken} failed`);
    log.error({ err: new Error('auth failed for hunter2-registered-secret') }, 'venue error');
    const text = lines.join('\n');
    expect(text).not.toContain('hunter2-registered-secret');
    expect(text).not.toContain(tgToken);
    expect(text.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(3);
  });

  it('leaves the caller’s object as it was', () => {
    const { log } = capture();
    const o = { apiKey: 'k', nested: { secret: 's' } };
    log.info(o, 'x');
    expect(o).toEqual({ apiKey: 'k', nested: { secret: 's' } });
  });
});
