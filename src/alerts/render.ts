import type { Alert, AlertSeverity } from '../core/alerts.ts';
import type { Reply } from '../chat/types.ts';
import type { ChatTransport } from '../chat/transport.ts';
import type { AlertChannel } from './service.ts';

const MARK: Record<AlertSeverity, string> = { info: 'ℹ️', warning: '⚠️', critical: '🚨' };

/** An alert as a chat message. */
export function alertReply(alert: Alert, repeat: number): Reply {
  return {
    title: `${MARK[alert.severity]} ${alert.title}${repeat > 1 ? ` (×${repeat})` : ''}`,
    text: alert.message,
    severity: alert.severity,
  };
}

/** Deliver alerts through a chat transport; the transport routes them by type and severity. */
export function transportAlertChannel(t: ChatTransport, minSeverity?: AlertSeverity): AlertChannel {
  return {
    name: t.name,
    ...(minSeverity ? { minSeverity } : {}),
    deliver: async (alert, repeat) => {
      await t.broadcast(alertReply(alert, repeat), { type: alert.type, severity: alert.severity });
    },
  };
}
