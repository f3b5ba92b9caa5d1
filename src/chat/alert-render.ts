import type { Alert, AlertSeverity } from '../core/alerts.ts';
import type { Reply } from './types.ts';
import type { ChatTransport, Topic } from './transport.ts';
import type { AlertChannel } from '../alerts/service.ts';

const MARK: Record<AlertSeverity, string> = { info: 'ℹ️', warning: '⚠️', critical: '🚨' };

/** An alert as a chat message. */
export function alertReply(alert: Alert): Reply {
  return { title: `${MARK[alert.severity]} ${alert.title}`, text: alert.message, severity: alert.severity };
}

const topicOf = (a: Alert): Topic => ({ type: a.type, severity: a.severity });

/**
 * Alert channels of a chat transport: one per destination (Telegram chat, Discord channel), so
 * delivery is journaled and flood-guarded per destination, and a storm summary reaches exactly the
 * destination that lost alerts. A transport without destinations is one channel that routes itself.
 */
export function transportAlertChannels(t: ChatTransport, minSeverity?: AlertSeverity): AlertChannel[] {
  const sev = minSeverity ? { minSeverity } : {};
  const dests = t.destinations?.();
  if (!dests) {
    return [
      {
        name: t.name,
        ...sev,
        deliver: async (alert) => {
          await t.broadcast(alertReply(alert), topicOf(alert));
        },
      },
    ];
  }
  return dests.map((d) => ({
    name: `${t.name}:${d.id}`,
    ...sev,
    accepts: (alert) => d.accepts(topicOf(alert)),
    deliver: async (alert) => {
      await d.post(alertReply(alert), topicOf(alert));
    },
  }));
}
