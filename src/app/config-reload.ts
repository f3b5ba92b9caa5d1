// /reload at run time: re-read the config file with start-up's checks and apply the live subset to the
// running parts (risk limits through the /risk set path, approvals, alerts, reports, chat users, strategy params).
import type { AlertService } from '../alerts/service.ts';
import { transportAlertChannels } from '../chat/alert-render.ts';
import type { ApprovalService } from '../chat/approvals.ts';
import type { Notifier } from '../chat/transport.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import type { Engine } from '../engine/engine.ts';
import type { Journal } from '../journal/journal.ts';
import type { Escalation } from '../ops/escalation.ts';
import type { ReportService } from '../reports/service.ts';
import { STATE } from '../journal/state-keys.ts';
import { createStrategy } from '../strategy/registry.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { startupProblems, type StartupOptions } from '../config/preflight.ts';
import {
  assignInPlace,
  describeChanges,
  limitInput,
  planReload,
  type ConfigControls,
  type LastReload,
  type ReloadCheck,
} from '../config/reload.ts';
import type { Config } from '../config/schema.ts';

export interface ConfigReloadTargets {
  /** The running config: the live subset is changed in place, so every holder of a section sees it. */
  config: Config;
  /** The file the bot was started from (undefined: embedded defaults, nothing to reload). */
  file: string | undefined;
  /** Start-up's check options (the --replay file, the secrets, injected parts). */
  startup: StartupOptions;
  engine: Engine;
  journal: Journal;
  alerts: AlertService;
  approvals: ApprovalService;
  reports: ReportService;
  notifier: Notifier;
  escalation: () => Escalation | undefined;
  wall: Clock;
  log: Logger;
}

export class ConfigReloader implements ConfigControls {
  constructor(private readonly t: ConfigReloadTargets) {}

  get file(): string | undefined {
    return this.t.file;
  }

  last(): LastReload | null {
    return STATE.configReload.read(this.t.journal);
  }

  check(): ReloadCheck {
    const file = this.t.file;
    if (!file)
      return { ok: false, problems: ['The bot was started without a config file (on the embedded defaults): there is nothing to reload'] };
    let next: Config;
    try {
      next = loadConfig(file);
    } catch (e) {
      if (e instanceof ConfigError) return { ok: false, problems: e.problems };
      return { ok: false, problems: [errorMessage(e)] };
    }
    const problems = startupProblems(next, this.t.startup);
    if (problems.length) return { ok: false, problems };
    return { ok: true, next, plan: planReload(this.t.config, next) };
  }

  apply(check: Extract<ReloadCheck, { ok: true }>, by: string): string[] {
    const { plan, next } = check;
    if (!plan.apply.length || plan.needsRestart.length || plan.errors.length) return [];
    const { config: cfg, engine, journal, wall } = this.t;
    const touched = (prefix: string): boolean => plan.apply.some((c) => c.path === prefix || c.path.startsWith(`${prefix}.`));

    // Risk limits: the /risk set path (one limit table). The file now speaks for them: a chat override goes.
    const risk = plan.apply.filter((c) => c.path.startsWith('risk.'));
    if (risk.length) {
      const saved = { ...STATE.riskLimits.read(journal) };
      for (const c of risk) {
        const key = c.path.slice('risk.'.length);
        const r = engine.risk.setLimit(key, limitInput(c.to));
        if (!r.ok) throw new Error(`${c.path}: ${r.error}`); // planReload checked it on a scratch engine
        delete saved[key];
      }
      STATE.riskLimits.write(journal, saved, wall.now());
    }
    // Everything else holds its section of the running config: change those in place.
    for (const k of ['risk', 'approvals', 'alerts', 'reports'] as const) if (touched(k)) assignInPlace(cfg[k], next[k]);
    for (const t of ['telegram', 'discord'] as const) {
      const into = cfg.chat[t] as Record<string, unknown>;
      const from = next.chat[t] as Record<string, unknown>;
      for (const k of ['users', 'alertChats', 'roles', 'routes']) if (touched(`chat.${t}.${k}`)) into[k] = structuredClone(from[k]);
    }

    if (touched('approvals.mode') || touched('approvals.aboveNotional'))
      this.t.approvals.setMode(cfg.approvals.mode, cfg.approvals.aboveNotional, by);
    if (touched('alerts.coalesceSec') || touched('alerts.minSeverity'))
      this.t.alerts.configure({ coalesceMs: cfg.alerts.coalesceSec * 1000, minSeverity: cfg.alerts.minSeverity });
    if (touched('alerts.escalation')) {
      const esc = this.t.escalation();
      esc?.stop();
      esc?.start(); // starts only when on
    }
    if (touched('reports')) this.t.reports.reschedule();
    if (touched('chat')) {
      for (const tr of this.t.notifier.list()) {
        if (tr.name !== 'telegram' && tr.name !== 'discord') continue;
        if (tr.name === 'telegram') (tr as { reloadUsers?: () => void }).reloadUsers?.();
        this.t.alerts.replaceChannels(tr.name, transportAlertChannels(tr));
      }
    }
    if (touched('strategy.params')) {
      cfg.strategy.params = structuredClone(next.strategy.params);
      const tfMs = TIMEFRAME_MS[cfg.market.timeframe];
      for (const s of cfg.market.symbols)
        engine.replaceStrategy(s, createStrategy(cfg.strategy.name, s, { ...cfg.strategy.params, timeframeMs: tfMs }));
    }

    const changed = plan.apply.map((c) => c.path);
    STATE.configReload.write(journal, { ts: wall.now(), by, file: this.t.file!, changed } satisfies LastReload, wall.now());
    this.t.log.info({ by, file: this.t.file, changed }, 'config reloaded');
    this.t.alerts.raise({
      type: 'engine',
      severity: 'info',
      title: 'Config reloaded',
      message: `${by} reloaded ${this.t.file}: ${describeChanges(plan.apply)}`,
      key: `config-reload-${wall.now()}`,
    });
    return changed;
  }
}
