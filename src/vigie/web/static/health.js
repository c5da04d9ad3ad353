// The health view (issue 17): recording-gap alarms, nodes, disks, the integrations (issue 21: MQTT, webhooks,
// sensors, loudspeakers), cameras offline and the recording gaps of the last 24 hours, from GET /api/system/health
// (operators and supervisors). The number of alarms raised also shows beside the view's link in the menu, refreshed
// with the rest of the console, so an operator sees it from any view.

import { api, can, cameraName, cell, failed, fill } from "./app.js";
import { formatTime, t } from "./i18n.js";

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

function bytes(n) {
  const gib = n / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}

// One row per link to another system (issue 21). A state that only `vigie serve` knows (it holds the connections)
// reads "unknown here" in another process: never a green "connected" that nobody checked.
const UNKNOWN = "state state-starting";
const GOOD = "state state-online";
const BAD = "state state-offline";
const WARN = "state state-degraded";

function integrationRows(integrations) {
  const rows = [];
  const { mqtt, webhooks, sensors, speakers } = integrations;
  if (mqtt) {
    const live = mqtt.live;
    const details = [];
    if (live) {
      details.push(t("health.mqtt_counts", { acknowledged: live.acknowledged, refused: live.refused }));
      if (live.last_error) details.push(t("health.last_error", { error: live.last_error }));
    }
    rows.push({
      key: "mqtt",
      name: t("health.mqtt"),
      state: !live ? t("health.unknown_here") : live.connected ? t("health.connected") : t("health.disconnected"),
      cls: !live ? UNKNOWN : live.connected ? (live.refused ? WARN : GOOD) : BAD,
      waiting: String(mqtt.outbox_waiting),
      details: details.join(" · "),
      unknown: !live,
    });
  }
  for (const w of webhooks || []) {
    const details = [t("health.webhook_details", { url: w.url, communes: w.communes.join(", ") })];
    let state = t("health.active");
    let cls = GOOD;
    if (w.disabled_at) {
      state = t("health.disabled", { at: formatTime(w.disabled_at) });
      cls = BAD;
    } else if (w.failed === null) {
      state = t("health.unknown_here"); // its sender runs in vigie serve: whether deliveries succeed is known there
      cls = UNKNOWN;
    } else if (w.failed > 0) {
      state = t("health.webhook_failing", { count: w.failed });
      cls = WARN;
    }
    rows.push({
      key: `webhook:${w.name}`,
      name: t("health.webhook", { name: w.name }),
      state,
      cls,
      waiting: String(w.waiting),
      details: details.join(" · "),
      unknown: w.failed === null,
    });
  }
  if (sensors) {
    const live = sensors.live;
    const details = [];
    if (live) {
      details.push(t("health.sensor_counts", { configured: sensors.configured, received: live.received }));
      const dropped = Object.entries(live.dropped).filter(([, n]) => n > 0);
      if (dropped.length) {
        details.push(t("health.sensor_dropped", { dropped: dropped.map(([r, n]) => `${r} ${n}`).join(", ") }));
      }
      if (live.last_error) details.push(t("health.last_error", { error: live.last_error }));
    } else {
      details.push(t("health.sensor_counts", { configured: sensors.configured, received: "?" }));
    }
    rows.push({
      key: "sensors",
      name: t("health.sensors"),
      state: !live ? t("health.unknown_here") : live.subscribed ? t("health.subscribed") : t("health.not_subscribed"),
      cls: !live ? UNKNOWN : live.subscribed ? GOOD : BAD,
      waiting: "",
      details: details.join(" · "),
      unknown: !live,
    });
  }
  for (const [commune, count] of Object.entries(speakers)) {
    rows.push({
      key: `speakers:${commune}`,
      name: t("health.speakers", { commune }),
      state: t("health.speaker_count", { count }),
      cls: "state",
      waiting: "",
      details: "",
      unknown: false,
    });
  }
  return rows;
}

function renderIntegrations(integrations) {
  const rows = integrationRows(integrations);
  fill("health-integrations", rows, (tr, r) => {
    tr.dataset.integration = r.key;
    cell(tr, r.name);
    cell(tr, r.state, r.cls);
    cell(tr, r.waiting);
    cell(tr, r.details);
  });
  const note = document.getElementById("health-integrations-note");
  note.hidden = rows.length > 0 && !rows.some((r) => r.unknown);
  note.textContent = rows.length ? t("health.serve_only") : t("health.no_integration");
}

function render(view) {
  const raised = document.getElementById("health-alarm-note");
  if (!view.watching) raised.textContent = t("health.not_watching");
  else raised.textContent = view.alarms.length ? t("health.raised", { count: view.alarms.length }) : t("health.no_alarm");
  raised.className = view.alarms.length || !view.watching ? "error" : "note";
  fill("health-alarms", view.alarms, (tr, g) => {
    tr.dataset.camera = g.camera_id;
    cell(tr, `${cameraName(g.camera_id)} (${g.camera_id})`);
    cell(tr, formatTime(g.start));
    cell(tr, duration(g.seconds), "state state-offline");
  });
  fill("health-nodes", view.nodes, (tr, n) => {
    tr.dataset.node = n.node_id;
    cell(tr, n.node_id);
    const state = !n.alive ? "health.down" : n.draining ? "health.draining" : "health.alive";
    cell(tr, t(state), n.alive && !n.draining ? "state state-online" : "state state-offline");
    cell(tr, n.groups.join(", "));
    cell(tr, String(n.cameras));
    cell(tr, n.since ? formatTime(n.since) : "");
  });
  fill("health-disks", view.disks, (tr, d) => {
    tr.dataset.disk = d.name;
    cell(tr, t(`health.disk.${d.name}`));
    cell(tr, d.error ? d.error : bytes(d.free_bytes));
    cell(tr, d.error ? "" : bytes(d.total_bytes));
    cell(tr, d.ok ? t("health.disk_ok") : t("health.disk_low"), d.ok ? "state state-online" : "state state-offline");
  });
  renderIntegrations(view.integrations);
  fill("health-offline", view.offline, (tr, c) => {
    tr.dataset.camera = c.id;
    cell(tr, `${c.name} (${c.id})`);
    cell(tr, c.reason);
    cell(tr, c.since ? formatTime(c.since) : "");
  });
  document.getElementById("health-gap-summary").textContent = t("health.gap_summary", {
    count: view.gap_count,
    duration: duration(view.gap_seconds),
  });
  fill("health-gaps", view.gaps, (tr, g) => {
    tr.dataset.camera = g.camera_id;
    cell(tr, `${cameraName(g.camera_id)} (${g.camera_id})`);
    cell(tr, formatTime(g.start));
    cell(tr, g.end ? formatTime(g.end) : t("health.ongoing"));
    cell(tr, duration(g.seconds));
  });
}

export function showAlarmCount(view) {
  const badge = document.getElementById("health-alarm-count");
  badge.hidden = view.watching && !view.alarms.length;
  badge.textContent = view.watching ? String(view.alarms.length) : "?";
  badge.title = view.watching ? t("health.raised", { count: view.alarms.length }) : t("health.not_watching");
}

// Called by the console's periodic refresh: the alarm count beside the menu link, whatever view is shown.
export async function refreshAlarms() {
  if (!can("view_system_health")) return null;
  const view = await api("GET", "/api/system/health");
  showAlarmCount(view);
  return view;
}

export const health = {
  allowed: () => can("view_system_health"),
  enter() {
    this.refresh();
  },
  async refresh() {
    try {
      const view = await refreshAlarms();
      if (view) render(view);
    } catch (err) {
      failed(err);
    }
  },
};
