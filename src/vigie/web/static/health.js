// The health view (issue 17): recording-gap alarms, nodes, disks, cameras offline and the recording gaps of the
// last 24 hours, from GET /api/system/health (operators and supervisors). The number of alarms raised also shows
// beside the view's link in the menu, refreshed with the rest of the console, so an operator sees it from any view.

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
