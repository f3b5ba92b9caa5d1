// The end of a replay is logged with the bot's own figures (bench/replay.ts reads them): candles
// accepted and rejected, and how long the feed ran.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { startBot } from '../helpers/harness.ts';

describe('replay end', () => {
  it('logs "feed finished" with the candles the engine accepted and the time it took', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const h = await startBot({ candles: 600, bot: { logger: createLogger({ destination: sink }) } });
    try {
      const done = lines.find((l) => l.msg === 'feed finished');
      expect(done).toMatchObject({ accepted: 600, rejected: 0 });
      expect(done!.ms).toBeGreaterThan(0);
      expect(String(done!.feed)).toMatch(/^replay:/);
    } finally {
      await h.stop();
    }
  });
});
