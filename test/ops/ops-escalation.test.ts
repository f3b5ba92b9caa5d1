// Sleep mode: critical alerts nobody acknowledges within alerts.escalation.unacknowledgedMin pause
// (or flatten) the bot, journaled and announced; an Acknowledge press from a trader stops it.
import { describe, expect, it } from 'vitest';
import { STALE_BUTTON } from '../../src/chat/dispatcher.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Harness } from '../helpers/harness.ts';
import { chatUser, startBot, tempDir } from '../helpers/harness.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

const MIN = 60_000;

async function rig(escalation: NonNullable<ConfigInput['alerts']>['escalation'], dir = tempDir(), t0 = Date.UTC(2025, 0, 6, 12)) {
  const clock = { t: t0, now: () => clock.t };
  const h = await startBot({
    dir,
    candles: 1500,
    config: { alerts: { escalation }, risk: { maxConsecutiveLosses: 0, minTradeIntervalSec: 0 } },
    bot: { wallClock: clock },
  });
  const rec = new RecordingTransport();
  h.bot.notifier.add(rec);
  const esc = h.bot.ops.escalations!;
  const critical = async (title: string) => {
    h.bot.alerts.raise({ type: 'feed_down', severity: 'critical', title, message: 'the feed stopped' });
    await esc.settled();
  };
  return { h, rec, esc, clock, critical };
}

const audit = (h: Harness, command: string) =>
  h.bot.journal.sqlite
    .prepare('select user_id as userId, outcome, detail from commands where command = ? order by id')
    .all(command) as Array<{
    userId: string;
    outcome: string;
    detail: string;
  }>;

describe('escalation of unacknowledged critical alerts', () => {
  it('posts one Acknowledge prompt per episode; unanswered, the bot pauses, journaled and announced', async () => {
    const { h, rec, esc, clock, critical } = await rig({ unacknowledgedMin: 5, action: 'pause' });
    try {
      h.bot.alerts.raise({ type: 'feed_down', severity: 'warning', title: 'only a warning', message: '' });
      await esc.settled();
      expect(rec.posts).toHaveLength(0);

      await critical('Feed BTC/USDT stopped');
      expect(rec.posts).toHaveLength(1);
      const prompt = rec.posts[0]!;
      expect(prompt.topic).toEqual({ type: 'escalation', severity: 'critical' });
      expect(prompt.reply.title).toBe('1 critical alert: please acknowledge');
      expect(prompt.reply.text).toBe(
        '• 12:00 UTC Feed BTC/USDT stopped\n\nIf nobody acknowledges by 12:05 UTC, the bot will pause new entries.',
      );
      expect(prompt.reply.buttons![0]![0]).toMatchObject({ label: 'Acknowledge', data: expect.stringMatching(/^ack:[0-9a-f]{12}$/) });

      clock.t += 2 * MIN;
      await critical('Trading loop stuck on BTC/USDT');
      expect(rec.posts).toHaveLength(1); // the same episode: the prompt is edited
      expect(rec.edits.at(-1)!.reply.title).toBe('2 critical alerts: please acknowledge');
      expect(rec.edits.at(-1)!.reply.text).toContain('12:02 UTC Trading loop stuck on BTC/USDT');

      clock.t += 2 * MIN;
      esc.tick();
      expect(h.bot.engine.status().paused).toBe(false);
      clock.t += 1 * MIN;
      esc.tick();
      await esc.settled();
      const st = h.bot.engine.status();
      expect(st.paused).toBe(true);
      expect(h.bot.engine.risk.state().pausedBy).toBe('escalation (2 critical alerts unacknowledged for 5 min)');
      const [row] = audit(h, 'escalate');
      expect(row).toMatchObject({ userId: 'escalation', outcome: 'paused' });
      expect(row!.detail).toBe(
        'Nobody acknowledged 2 critical alerts since 12:00 UTC: the bot paused new entries (exits and stops still run). /resume when you have looked.',
      );
      const announced = h.bot.journal.sqlite.prepare("select severity, title from alerts where type = 'escalation'").all();
      expect(announced).toEqual([{ severity: 'critical', title: 'Unacknowledged: bot paused' }]);
      expect(rec.edits.at(-1)!.reply).toMatchObject({ title: 'Not acknowledged in time', buttons: [] });
      expect(esc.pending).toBeNull(); // the announcement does not open a new episode
      expect(h.bot.journal.getState('escalation', 'x')).toBeNull();
    } finally {
      await h.stop();
    }
  });

  it('a trader acknowledges; a viewer or a forged button cannot; nothing happens at the deadline', async () => {
    const { h, rec, esc, clock, critical } = await rig({ unacknowledgedMin: 5, action: 'pause' });
    try {
      await critical('Circuit breaker tripped');
      const data = rec.posts[0]!.reply.buttons![0]![0]!.data;
      expect(await h.bot.dispatcher.handleButton(chatUser('trader'), 'ack:000000000000')).toEqual({ toast: STALE_BUTTON });
      expect(await h.bot.dispatcher.handleButton(chatUser('viewer'), data)).toEqual({ toast: 'Acknowledging needs the trader role.' });
      expect(await h.bot.dispatcher.handleButton(chatUser(null), data)).toMatchObject({ toast: expect.stringContaining('allow-list') });
      clock.t += 3 * MIN;
      const r = await h.bot.dispatcher.handleButton(chatUser('trader'), data);
      expect(r.toast).toBe('Acknowledged');
      expect(r.edit).toMatchObject({
        title: 'Acknowledged',
        text: 'Acknowledged by u-trader at 12:03 UTC: 1 critical alert. Nothing else was done.',
      });
      expect(await h.bot.dispatcher.handleButton(chatUser('trader'), data)).toEqual({ toast: STALE_BUTTON });
      clock.t += 10 * MIN;
      esc.tick();
      expect(h.bot.engine.status().paused).toBe(false);
      expect(audit(h, 'acknowledge').map((a) => a.outcome)).toEqual(['invalid', 'refused', 'ok', 'invalid']);
      expect(audit(h, 'escalate')).toEqual([]);
    } finally {
      await h.stop();
    }
  });

  it('action flatten closes every position and pauses', async () => {
    const { h, esc, clock, critical } = await rig({ unacknowledgedMin: 1, action: 'flatten' });
    try {
      const admin = chatUser('admin');
      if (h.bot.engine.portfolio.positions.size === 0) {
        const ask = await h.bot.dispatcher.handleText(admin, '/buy BTC/USDT 0.01');
        await h.bot.dispatcher.handleButton(admin, ask!.buttons![0]![0]!.data);
      }
      expect(h.bot.engine.portfolio.positions.size).toBe(1);
      await critical('LIQUIDATION warning');
      clock.t += 61_000;
      esc.tick();
      expect(h.bot.engine.portfolio.positions.size).toBe(0);
      expect(h.bot.engine.status().paused).toBe(true);
      expect(audit(h, 'escalate')[0]!.outcome).toBe('flattened');
    } finally {
      await h.stop();
    }
  });

  it('an open episode survives a restart and acts at start when overdue', async () => {
    const dir = tempDir();
    const first = await rig({ unacknowledgedMin: 5, action: 'pause' }, dir);
    await first.critical('Reconciliation mismatch');
    await first.h.stop();
    const second = await rig({ unacknowledgedMin: 5, action: 'pause' }, dir, Date.UTC(2025, 0, 6, 12, 30));
    try {
      expect(second.h.bot.engine.status().paused).toBe(true);
      expect(audit(second.h, 'escalate')[0]!.detail).toContain('Nobody acknowledged 1 critical alert since 12:00 UTC');
    } finally {
      await second.h.stop();
    }
  });

  it('off by default: no prompt, no action', async () => {
    const { h, rec, esc, clock, critical } = await rig({});
    try {
      await critical('Feed BTC/USDT stopped');
      clock.t += 24 * 60 * MIN;
      esc.tick();
      expect(rec.posts).toHaveLength(0);
      expect(h.bot.engine.status().paused).toBe(false);
    } finally {
      await h.stop();
    }
  });
});
