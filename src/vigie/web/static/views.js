// The console's views. Each has allowed() (from the person's permissions), enter(args, query), and optionally
// refresh() (every few seconds while shown), leave(), onAlert(alert) and onCameras() (from the live feed).

import { api, can, cameraName, cell, el, failed, fill, refreshSoon, state, status } from "./app.js";
import { formatTime, t } from "./i18n.js";
import { fromParisWallClock, parisDay, parisDayBounds, parisWallClock } from "./time.js";
import { MsePlayer } from "./mse.js";
import { layouts, passthrough, wallOutput } from "./layouts.js";
import { health } from "./health.js";
import { plates } from "./plates.js";
import { ptz } from "./ptz.js";
import { speakers } from "./speakers.js";
import { cases } from "./cases.js";
import { access } from "./access.js";
import { mountTree } from "./tree.js";
import { mapView as map } from "./map.js";
import { decideAlert, snapshot } from "./alarms.js";

function stateCell(row, camera) {
  cell(row, t(`state.${camera.state}`), `state state-${camera.state}`);
}

function option(value, text) {
  return el("option", { value, text });
}

function fillCameraSelect(select) {
  const chosen = select.value;
  select.replaceChildren(...state.cameras.map((c) => option(c.id, `${c.name} (${c.id})`)));
  if (chosen) select.value = chosen;
}

// datetime-local inputs hold a wall-clock time without a zone: the console's is Paris's (time.js)
function localInput(date) {
  return parisWallClock(date);
}

function fromLocalInput(value) {
  return fromParisWallClock(value).toISOString();
}

// --- live: the layouts of tiles (layouts.js), and a single view ---------------------------------------------------

let singlePlayer = null;

const live = {
  allowed: () => can("view_live"),
  enter(args, query) {
    mountTree(document.getElementById("live-tree")); // the camera tree (tree.js), mounted once
    if (args[0]) this.single(args[0], query.get("quality") || "full");
    else this.wall(query);
  },
  wall(query) {
    this.stopSingle();
    document.getElementById("wall-view").hidden = false;
    document.getElementById("single-view").hidden = true;
    layouts.show(query);
  },
  single(cameraId, quality) {
    layouts.hide();
    document.getElementById("wall-view").hidden = true;
    document.getElementById("single-view").hidden = false;
    const camera = state.cameras.find((c) => c.id === cameraId);
    document.getElementById("single-title").textContent = camera ? `${camera.name} (${camera.id})` : cameraId;
    const img = document.getElementById("single-video");
    img.alt = camera ? camera.name : cameraId;
    img.dataset.camera = cameraId;
    showCaption(cameraId, null);
    this.playSingle(cameraId, quality === "wall" ? "wall" : "full");
    document.getElementById("single-playback").href = `#/playback/${encodeURIComponent(cameraId)}`;
    const stop = document.getElementById("single-stop");
    stop.hidden = !can("engage_stop");
    stop.onclick = () => engageStop(cameraId);
    ptz.show(cameraId); // a dome's controls, when it is one Vigie drives and one may control it
    speakers.show(cameraId); // the commune's loudspeakers, those linked to this camera ticked
  },
  onCameras() {
    if (!document.getElementById("wall-view").hidden) layouts.onCameras();
    const single = document.getElementById("single-video").dataset.camera;
    if (!document.getElementById("single-view").hidden && single) showCaption(single);
  },
  onSensor(link) {
    // cameras a sensor's link rule asked to show: first in the layout, outlined (layouts.js)
    layouts.onSensor(link);
  },
  refresh() {
    this.onCameras();
  },
  playSingle(cameraId, quality) {
    const img = document.getElementById("single-video");
    const video = document.getElementById("single-mse");
    if (passthrough.cameras === null) {
      passthrough.load().then(() => { if (img.dataset.camera === cameraId) this.playSingle(cameraId, quality); });
      return;
    }
    if (passthrough.has(cameraId)) {
      if (!singlePlayer || singlePlayer.cameraId !== cameraId || singlePlayer.quality !== quality) {
        if (singlePlayer) singlePlayer.stop();
        singlePlayer = new MsePlayer(video, cameraId, quality, {
          onFallback: () => {
            passthrough.failed.add(cameraId);
            singlePlayer = null;
            if (img.dataset.camera === cameraId) this.playSingle(cameraId, quality);
          },
          onError: (message) => showCaption(cameraId, message),
          onPlaying: () => showCaption(cameraId, null),
        }).start();
      }
      stopImage(img);
      img.hidden = true;
      video.hidden = false;
      return;
    }
    if (singlePlayer) singlePlayer.stop();
    singlePlayer = null;
    video.hidden = true;
    img.hidden = false;
    const src = `/api/cameras/${encodeURIComponent(cameraId)}/live.mjpeg?quality=${quality}`;
    if (img.getAttribute("src") !== src) img.src = src;
  },
  stopSingle() {
    const img = document.getElementById("single-video");
    stopImage(img);
    delete img.dataset.camera;
    if (singlePlayer) singlePlayer.stop();
    singlePlayer = null;
    document.getElementById("single-mse").hidden = true;
    ptz.hide();
    speakers.hide();
  },
  leave() {
    layouts.hide();
    this.stopSingle();
  },
};

function stopImage(img) {
  // Removing the source closes the MJPEG connection: the server stops reading a camera nobody watches.
  if (img && img.getAttribute("src")) {
    img.removeAttribute("src");
    img.src = "data:,";
  }
}

// The single view's caption: the camera's state and reason as the camera list has them, followed as the list
// changes, or the live stream's error while it lasts (until the stream plays again: a dome's masked stream is
// refused while the recorder opens it, then plays; the error stayed under a live picture).
function showCaption(cameraId, error) {
  const caption = document.getElementById("single-caption");
  if (error !== undefined) caption.dataset.error = error || "";
  const camera = state.cameras.find((c) => c.id === cameraId);
  const described = camera ? `${t(`state.${camera.state}`)} · ${camera.reason || ""}` : "";
  caption.textContent = caption.dataset.error || described;
}

async function engageStop(cameraId) {
  const reason = prompt(t("live.stop_reason"));
  if (!reason) return;
  try {
    await api("POST", "/api/stops", { camera_id: cameraId, reason });
    status(t("live.stopped", { camera: cameraName(cameraId) }));
  } catch (err) {
    failed(err);
  }
  refreshSoon();
}


// --- alerts ------------------------------------------------------------------------------------------------------

const alerts = {
  allowed: () => can("read_alerts"),
  enter() {
    this.refresh();
  },
  async refresh() {
    try {
      const [pending, recent] = await Promise.all([
        api("GET", "/api/alerts?state=pending&limit=50"),
        api("GET", "/api/alerts?limit=50"),
      ]);
      const canDecide = can("decide_alerts");
      fill("alerts", pending.items, (tr, a) => {
        tr.dataset.alert = String(a.id);
        cell(tr, String(a.id));
        const snap = cell(tr, "");
        if (can("view_live") || can("playback")) snap.appendChild(snapshot(a));
        cell(tr, cameraName(a.camera_id));
        const kind = cell(tr, a.kind);
        if (a.module === "plate_reading" && can("read_plate_matches")) {
          // the alert carries no plate: the match behind it is asked for (and audited) in the plates view, on a click
          kind.append(" ", el("a", { href: `#/plates?alert=${a.id}`, class: "plate-link", text: t("plates.open_alert") }));
        }
        cell(tr, formatTime(a.at));
        cell(tr, a.score.toFixed(2));
        speakersButton(decisionCell(tr, a, canDecide), a);
      });
      fill("decided", recent.items.filter((a) => a.state !== "pending").slice(0, 20), (tr, a) => {
        tr.dataset.alert = String(a.id);
        cell(tr, String(a.id));
        cell(tr, cameraName(a.camera_id));
        cell(tr, a.kind);
        cell(tr, formatTime(a.at));
        cell(tr, t(`verdict.${a.verdict}`), `verdict verdict-${a.verdict}`);
        cell(tr, a.decided_by ? `${a.decided_by} (${a.decided_role})` : "");
        if (speakers.offered()) {
          const act = cell(tr, "");
          if (a.verdict === "confirmed") speakersButton(act, a); // a dismissed alert calls for nothing
        }
      });
      document.getElementById("decided-speakers").hidden = !speakers.offered();
    } catch (err) {
      failed(err);
    }
  },
  onAlert() {
    this.refresh();
  },
};

async function decide(alert, action, verdict) {
  try {
    await decideAlert(alert, action, verdict);
  } catch (err) {
    status(`#${alert.id}: ${err.message}`);
  }
  alerts.refresh();
}

function speakersButton(td, alert) {
  // A person answering an alert may speak to the street: the form opens with the alert's camera's speakers ticked;
  // only its "Play the message" sends the order, linked to the alert in the audit (speakers.js).
  if (!speakers.offered()) return;
  td.appendChild(el("button", {
    type: "button", class: "alert-speakers", text: t("alerts.speakers"), dataset: { action: "speakers" },
    onclick: () => speakers.openAlert(alert),
  }));
}

function decisionCell(tr, alert, canDecide) {
  const td = cell(tr, "");
  if (!canDecide) return td;
  const buttons = [
    ["alerts.confirm", "confirm", null],
    ["alerts.false_positive", "dismiss", "false_positive"],
    ["alerts.not_actionable", "dismiss", "not_actionable"],
  ];
  for (const [label, action, verdict] of buttons) {
    td.appendChild(el("button", {
      type: "button", text: t(label), dataset: { action, verdict: verdict || "" },
      onclick: () => decide(alert, action, verdict),
    }));
  }
  return td;
}

// --- playback: timeline of a day's recordings, click to play --------------------------------------------------

const playback = {
  allowed: () => can("playback"),
  enter(args) {
    const select = document.getElementById("playback-camera");
    fillCameraSelect(select);
    if (args[0]) select.value = args[0];
    const day = document.getElementById("playback-day");
    if (!day.value) day.value = parisDay();
    if (args[0]) this.show();
  },
  async show() {
    const camera = document.getElementById("playback-camera").value;
    const day = document.getElementById("playback-day").value;
    const error = document.getElementById("playback-error");
    error.textContent = "";
    const { start, end } = parisDayBounds(day); // a Paris day, whatever the browser's zone: 23 to 25 hours
    try {
      const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
      const timeline = await api("GET", `/api/cameras/${encodeURIComponent(camera)}/recordings?${q}`);
      // the sensors' bookmarks (docs/integrations.md#sensors); none where the server has no sensors
      const bookmarks = await api("GET", `/api/cameras/${encodeURIComponent(camera)}/bookmarks?${q}`).catch(() => []);
      this.draw(camera, day, start, end, timeline, bookmarks);
    } catch (err) {
      error.textContent = err.message;
    }
  },
  draw(camera, day, start, end, timeline, bookmarks = []) {
    const bar = document.getElementById("timeline");
    bar.hidden = false;
    const total = end - start;
    const place = (node, from, to) => {
      node.style.left = `${((new Date(from) - start) / total) * 100}%`;
      node.style.width = `${Math.max(0.2, ((new Date(to) - new Date(from)) / total) * 100)}%`;
      return node;
    };
    const spans = timeline.recorded.map((s) => {
      const span = place(el("button", { type: "button", class: "span", title: `${formatTime(s.start)} – ${formatTime(s.end)}` }), s.start, s.end);
      span.addEventListener("click", (event) => {
        const rect = span.getBoundingClientRect();
        const fraction = (event.clientX - rect.left) / rect.width;
        const at = new Date(new Date(s.start).getTime() + fraction * (new Date(s.end) - new Date(s.start)));
        this.play(camera, at, new Date(s.end));
      });
      return span;
    });
    const gone = (timeline.unavailable || []).map((s) => place(el("span", { class: "unavailable", title: s.reason || "" }), s.start, s.end));
    const hours = [];
    for (let h = 0; h <= 24; h += 3) {
      const tick = el("span", { class: "tick", text: `${String(h).padStart(2, "0")}h` });
      const at = h === 24 ? end : fromParisWallClock(`${day}T${String(h).padStart(2, "0")}:00`);
      tick.style.left = `${((at - start) / total) * 100}%`;
      hours.push(tick);
    }
    const marks = bookmarks.map((b) => {
      const title = `${formatTime(b.at)} — ${t("sensors.wall", { sensor: b.sensor, label: b.label })}`;
      const mark = el("button", { type: "button", class: "bookmark", title, "aria-label": title, dataset: { rule: b.rule } });
      mark.style.left = `${((new Date(b.at) - start) / total) * 100}%`;
      const from = new Date(new Date(b.at).getTime() - 10000); // ten seconds before: what led to it
      mark.addEventListener("click", () => this.play(camera, from, new Date(from.getTime() + 60000)));
      return mark;
    });
    bar.replaceChildren(...spans, ...gone, ...hours, ...marks);
    document.getElementById("timeline-note").textContent = timeline.recorded.length
      ? t("playback.spans", { spans: timeline.recorded.length, gaps: timeline.gaps.length })
      : t("playback.none");
  },
  play(camera, from, to) {
    const video = document.getElementById("playback-video");
    const until = new Date(Math.min(to.getTime(), from.getTime() + 3600000));
    const q = new URLSearchParams({ start: from.toISOString(), end: until.toISOString() });
    video.hidden = false;
    video.src = `/api/cameras/${encodeURIComponent(camera)}/playback.m3u8?${q}`;
    video.dataset.camera = camera;
    video.play().catch(() => {});
  },
  leave() {
    const video = document.getElementById("playback-video");
    video.pause();
    video.removeAttribute("src");
    video.load();
  },
};

document.getElementById("playback-form").addEventListener("submit", (event) => {
  event.preventDefault();
  location.hash = `#/playback/${encodeURIComponent(document.getElementById("playback-camera").value)}`;
  playback.show();
});

// --- exports -----------------------------------------------------------------------------------------------------

const verifications = new Map();

const exportsView = {
  allowed: () => can("export"),
  enter() {
    fillCameraSelect(document.getElementById("export-camera"));
    const start = document.getElementById("export-start");
    const end = document.getElementById("export-end");
    if (!end.value) end.value = localInput(new Date());
    if (!start.value) start.value = localInput(new Date(Date.now() - 10 * 60000));
    this.refresh();
  },
  async refresh() {
    clearTimeout(this.soon);
    try {
      const page = await api("GET", "/api/exports?limit=20");
      // The progress bars move every second while an export runs, whatever the page's own refresh.
      if (page.items.some((job) => job.state === "queued" || job.state === "running")) {
        this.soon = setTimeout(() => { if (state.view === "exports") this.refresh(); }, 1000);
      }
      fill("exports", page.items, (tr, job) => {
        tr.dataset.export = job.id;
        tr.dataset.state = job.state;
        cell(tr, formatTime(job.created_at));
        cell(tr, job.camera_ids.map(cameraName).join(", "));
        tr.dataset.redacted = String(Boolean(job.redacted));
        cell(tr, job.redacted ? `${job.requisition_ref} · ${t("exports.redacted_short")}` : job.requisition_ref);
        const progress = el("progress", { max: "1", value: String(job.progress) });
        cell(tr, "").append(progress, ` ${Math.round(job.progress * 100)} % · ${job.state}${job.error ? ` · ${job.error}` : ""}`);
        const pkg = cell(tr, "");
        if (job.state === "done" && job.package) {
          pkg.appendChild(el("a", { href: job.package.url, download: job.package.name, text: t("exports.download"), class: "download" }));
        } else if (job.cancel_requested && (job.state === "queued" || job.state === "running")) {
          pkg.textContent = t("exports.cancelling");
        } else if (job.state === "queued" || job.state === "running") {
          pkg.appendChild(el("button", { type: "button", class: "cancel", text: t("exports.cancel"), onclick: () => cancelExport(job.id) }));
        }
        const check = cell(tr, "", "verification");
        if (job.state === "done") {
          const result = verifications.get(job.id);
          if (result) check.textContent = result;
          else check.appendChild(el("button", { type: "button", text: t("exports.verify"), onclick: () => verifyExport(job.id) }));
        }
        transmissionCell(cell(tr, "", "transmission"), job);
      });
    } catch (err) {
      failed(err);
    }
  },
};

// The day the package was handed to the prosecutor (L5): recorded once it happened, into the destruction register.
const transmissionErrors = new Map();

function transmissionCell(td, job) {
  if (job.transmitted_on) {
    const day = new Date(job.transmitted_on).toLocaleDateString(undefined, { timeZone: "Europe/Paris" });
    td.textContent = t("exports.transmitted_on", { day });
    return;
  }
  if (job.state !== "done") return;
  const today = parisDay();
  const day = el("input", { type: "date", max: today, value: today, "aria-label": t("exports.transmitted_day") });
  const record = el("button", { type: "button", text: t("exports.transmit"), onclick: () => recordTransmission(job, day.value) });
  td.append(day, record);
  if (transmissionErrors.has(job.id)) td.append(el("p", { class: "error", role: "alert", text: transmissionErrors.get(job.id) }));
}

async function recordTransmission(job, day) {
  transmissionErrors.delete(job.id);
  try {
    await api("POST", `/api/exports/${job.id}/transmission`, { transmitted_on: day, requisition_ref: job.requisition_ref });
  } catch (err) {
    transmissionErrors.set(job.id, err.message);
  }
  exportsView.refresh();
}

// Cancelling stops the export at its next segment, on whichever server process makes it; it then fails as cancelled.
async function cancelExport(id) {
  try {
    await api("POST", `/api/exports/${id}/cancel`);
  } catch (err) {
    failed(err);
  }
  exportsView.refresh();
}

async function verifyExport(id) {
  try {
    const result = await api("POST", `/api/exports/${id}/verify`);
    const problems = (result.issues || []).map((i) => `${i.name}: ${i.message}`).join("; ");
    verifications.set(id, result.ok ? t("exports.verified") : t("exports.not_verified", { problems }));
  } catch (err) {
    verifications.set(id, err.message);
  }
  exportsView.refresh();
}

document.getElementById("export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("export-error");
  error.textContent = "";
  try {
    await api("POST", "/api/exports", {
      camera_ids: [document.getElementById("export-camera").value],
      start: fromLocalInput(document.getElementById("export-start").value),
      end: fromLocalInput(document.getElementById("export-end").value),
      reason: document.getElementById("export-reason").value,
      requisition_ref: document.getElementById("export-requisition").value,
      redacted: document.getElementById("export-redacted").checked,
    });
    exportsView.refresh();
  } catch (err) {
    error.textContent = err.message;
  }
});

// --- governance --------------------------------------------------------------------------------------------------

let catalogue = null;

const governance = {
  allowed: () => can("read_governance"),
  async enter() {
    try {
      catalogue = await api("GET", "/api/governance/catalogue");
    } catch (err) {
      failed(err);
    }
    this.fillForm();
    this.refresh();
  },
  fillForm() {
    const form = document.getElementById("activation-form");
    form.hidden = !can("request_activation");
    if (!catalogue) return;
    fill("catalogue", catalogue.modules, (tr, m) => {
      cell(tr, `${m.title} (${m.id})`);
      cell(tr, m.frameworks.join(", "));
      cell(tr, m.description);
    });
    const module = document.getElementById("act-module");
    if (!module.options.length) {
      module.replaceChildren(...catalogue.modules.filter((m) => m.approvable).map((m) => option(m.id, m.title)));
      module.addEventListener("change", () => this.moduleChanged());
    }
    this.moduleChanged();
    const start = document.getElementById("act-start");
    const end = document.getElementById("act-end");
    if (!start.value) start.value = localInput(new Date()).slice(0, 16);
    if (!end.value) end.value = localInput(new Date(Date.now() + 30 * 86400000)).slice(0, 16);
  },
  moduleChanged() {
    const chosen = catalogue.modules.find((m) => m.id === document.getElementById("act-module").value);
    const cameras = document.getElementById("act-cameras");
    const frameworks = document.getElementById("act-framework");
    cameras.replaceChildren(...(chosen ? chosen.cameras : []).map((id) => option(id, `${cameraName(id)} (${id})`)));
    const usable = catalogue.frameworks.filter((f) => chosen && chosen.frameworks.includes(f.id) && f.in_force);
    frameworks.replaceChildren(...usable.map((f) => option(f.id, f.title)));
  },
  async refresh() {
    const status = state.governance;
    if (!status) return;
    const stop = document.getElementById("stop-global");
    stop.replaceChildren();
    if (status.global_stop) {
      stop.className = "stop engaged";
      stop.append(t("gov.stop_engaged", { by: status.global_stop.by }), " ");
      if (can("release_stop")) stop.appendChild(el("button", { type: "button", id: "stop-release", text: t("gov.stop_release"), onclick: () => setStop(false) }));
    } else {
      stop.className = "stop";
      stop.append(t("gov.stop_off"), " ");
      if (can("engage_stop")) stop.appendChild(el("button", { type: "button", id: "stop-engage", class: "danger", text: t("gov.stop_engage"), onclick: () => setStop(true) }));
    }
    fill("activations", status.activations.items, (tr, a) => {
      tr.dataset.activation = String(a.id);
      tr.dataset.state = a.state;
      cell(tr, String(a.id));
      cell(tr, a.module);
      cell(tr, a.camera_ids.map(cameraName).join(", "));
      cell(tr, a.state, `activation-state activation-${a.state}`);
      cell(tr, `${formatTime(a.starts_at)} → ${formatTime(a.runs_until || a.ends_at)}`);
      cell(tr, a.approvals.map((p) => `${p.by} (${p.role})`).join(", "));
      const actions = cell(tr, "");
      const open = a.state === "requested" || a.state === "approved_pending_start";
      if (open && can("approve_activation")) {
        actions.appendChild(el("button", { type: "button", text: t("gov.approve"), dataset: { action: "approve" }, onclick: () => activationAction(a.id, "approve") }));
      }
      if (a.state !== "revoked" && a.state !== "expired" && (can("approve_activation") || can("request_activation"))) {
        actions.appendChild(el("button", { type: "button", text: t("gov.revoke"), dataset: { action: "revoke" }, onclick: () => activationAction(a.id, "revoke") }));
      }
    });
  },
};

async function setStop(engage) {
  const reason = prompt(t("gov.stop_reason"));
  if (!reason) return;
  try {
    await api("POST", engage ? "/api/stops" : "/api/stops/release", { camera_id: null, reason });
  } catch (err) {
    status(err.message);
  }
  refreshSoon();
}

async function activationAction(id, action) {
  let body = {};
  if (action === "revoke") {
    const reason = prompt(t("gov.revoke_reason"));
    if (!reason) return;
    body = { reason };
  }
  try {
    await api("POST", `/api/activations/${id}/${action}`, body);
  } catch (err) {
    status(`#${id}: ${err.message}`);
  }
  refreshSoon();
}

document.getElementById("activation-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("activation-error");
  error.textContent = "";
  const value = (id) => document.getElementById(id).value;
  try {
    const created = await api("POST", "/api/activations", {
      module: value("act-module"),
      camera_ids: Array.from(document.getElementById("act-cameras").selectedOptions).map((o) => o.value),
      framework: value("act-framework"),
      decision_number: value("act-decision"),
      decision_date: value("act-decision-date"),
      dpia_reference: value("act-dpia"),
      purpose: value("act-purpose"),
      starts_at: fromLocalInput(value("act-start")),
      ends_at: fromLocalInput(value("act-end")),
    });
    status(t("gov.requested", { id: created.id }));
  } catch (err) {
    error.textContent = err.message;
  }
  refreshSoon();
});

// --- audit -------------------------------------------------------------------------------------------------------

let auditOffset = 0;
let auditMaxSeq = null; // pages after the first stay on the same entries (each read adds an entry)
const AUDIT_PAGE = 50;

const audit = {
  allowed: () => can("read_audit"),
  enter() {
    this.load();
  },
  async load() {
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE), offset: String(auditOffset) });
    const actor = document.getElementById("audit-actor").value.trim();
    const action = document.getElementById("audit-action").value.trim();
    if (actor) q.set("actor", actor);
    if (action) q.set("action", action);
    if (auditOffset > 0 && auditMaxSeq !== null) q.set("max_seq", String(auditMaxSeq));
    try {
      const page = await api("GET", `/api/audit?${q}`);
      if (auditOffset === 0) auditMaxSeq = page.max_seq;
      fill("audit", page.items, (tr, e) => {
        cell(tr, String(e.seq));
        cell(tr, formatTime(e.at));
        cell(tr, e.actor);
        cell(tr, e.action);
        cell(tr, e.target);
        cell(tr, JSON.stringify(e.details), "details");
      });
      document.getElementById("audit-page").textContent = t("audit.page", { from: auditOffset + 1, to: auditOffset + page.items.length });
      document.getElementById("audit-prev").disabled = auditOffset === 0;
      document.getElementById("audit-next").disabled = page.next_offset === null || page.next_offset === undefined;
    } catch (err) {
      failed(err);
    }
  },
};

document.getElementById("audit-verify").addEventListener("click", async () => {
  const out = document.getElementById("audit-status");
  out.textContent = "…";
  try {
    const result = await api("GET", "/api/audit/verify");
    out.className = result.ok ? "status ok" : "status broken";
    out.textContent = result.ok
      ? t("audit.ok", { entries: result.entries })
      : t("audit.broken", { seq: result.first_broken_seq, why: result.message || result.problem || "" });
  } catch (err) {
    out.className = "status broken";
    out.textContent = err.message;
  }
});
document.getElementById("audit-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  auditOffset = 0;
  audit.load();
});
document.getElementById("audit-prev").addEventListener("click", () => { auditOffset = Math.max(0, auditOffset - AUDIT_PAGE); audit.load(); });
document.getElementById("audit-next").addEventListener("click", () => { auditOffset += AUDIT_PAGE; audit.load(); });

// --- accounts and sharing agreements (administrators of the commune) -------------------------------------------

const ROLES = ["operator", "supervisor", "investigator", "dpo", "auditor", "authority", "administrator"];

const accounts = {
  allowed: () => can("manage_users"),
  async enter() {
    const box = document.getElementById("user-roles");
    if (!box.querySelector("input")) {
      for (const role of ROLES) {
        box.appendChild(el("label", { class: "role" }, el("input", { type: "checkbox", value: role, name: "role" }), ` ${role}`));
      }
    }
    try {
      const communes = await api("GET", "/api/communes?all=true");
      const partner = document.getElementById("agreement-partner");
      partner.replaceChildren(...communes.filter((c) => c.id !== state.me.commune_id).map((c) => option(c.id, c.name)));
    } catch (err) {
      failed(err);
    }
    this.refresh();
  },
  async refresh() {
    try {
      const [users, agreements] = await Promise.all([api("GET", "/api/users"), api("GET", "/api/sharing-agreements")]);
      fill("users", users, (tr, u) => {
        tr.dataset.user = u.username;
        cell(tr, u.username);
        cell(tr, u.display_name);
        cell(tr, u.roles.join(", ") + (u.second_factor ? " · 2FA" : ""));
        const until = el("input", {
          type: "date", value: u.authorised_until || "", class: "until", "aria-label": `${t("accounts.until")} — ${u.username}`,
        });
        const trained = el("input", {
          type: "date", value: u.trained_on || "", class: "trained", "aria-label": `${t("accounts.trained")} — ${u.username}`,
        });
        cell(tr, "").appendChild(until);
        cell(tr, "").appendChild(trained);
        const stateText = u.disabled ? t("accounts.disabled") : u.locked ? t("accounts.locked") : t("accounts.active");
        cell(tr, stateText, u.disabled || u.locked ? "state state-offline" : "state state-online");
        const actions = cell(tr, "");
        actions.appendChild(el("button", { type: "button", text: t("accounts.save"), dataset: { action: "save" },
          onclick: () => patchUser(u.username, { authorised_until: until.value || null, trained_on: trained.value || null }) }));
        actions.appendChild(el("button", { type: "button", text: u.disabled ? t("accounts.enable") : t("accounts.disable"),
          dataset: { action: u.disabled ? "enable" : "disable" }, onclick: () => patchUser(u.username, { disabled: !u.disabled }) }));
        if (u.locked) {
          actions.appendChild(el("button", { type: "button", text: t("accounts.unlock"), dataset: { action: "unlock" },
            onclick: () => patchUser(u.username, { unlock: true }) }));
        }
      });
      fill("agreements", agreements, (tr, a) => {
        tr.dataset.agreement = String(a.id);
        cell(tr, String(a.id));
        cell(tr, a.owner_commune);
        cell(tr, a.partner_commune);
        cell(tr, a.reference);
        cell(tr, `${a.starts_on} → ${a.ends_on}`);
        cell(tr, a.in_force ? t("sharing.in_force") : t("sharing.ended"), a.in_force ? "state state-online" : "state");
        const actions = cell(tr, "");
        if (!a.revoked && a.owner_commune === state.me.commune_id) {
          actions.appendChild(el("button", { type: "button", text: t("sharing.revoke"), dataset: { action: "revoke" },
            onclick: () => revokeAgreement(a.id) }));
        }
      });
    } catch (err) {
      failed(err);
    }
  },
};

async function patchUser(username, body) {
  try {
    await api("PATCH", `/api/users/${encodeURIComponent(username)}`, body);
  } catch (err) {
    status(`${username}: ${err.message}`);
  }
  accounts.refresh();
}

async function revokeAgreement(id) {
  try {
    await api("POST", `/api/sharing-agreements/${id}/revoke`);
  } catch (err) {
    status(`#${id}: ${err.message}`);
  }
  accounts.refresh();
}

document.getElementById("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("user-error");
  const notice = document.getElementById("user-totp");
  error.textContent = "";
  notice.hidden = true;
  const value = (id) => document.getElementById(id).value;
  const roles = Array.from(document.querySelectorAll("#user-roles input:checked")).map((i) => i.value);
  try {
    const created = await api("POST", "/api/users", {
      username: value("user-username"),
      display_name: value("user-name"),
      roles,
      password: value("user-password"),
      authorised_until: value("user-until") || null,
      trained_on: value("user-trained") || null,
    });
    document.getElementById("user-password").value = "";
    status(t("accounts.created", { user: created.user.username }));
    if (created.totp_uri) {
      const secret = new URL(created.totp_uri).searchParams.get("secret");
      notice.textContent = t("accounts.totp", { user: created.user.username, secret });
      notice.hidden = false;
    }
  } catch (err) {
    error.textContent = err.message;
  }
  accounts.refresh();
});

document.getElementById("agreement-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("agreement-error");
  error.textContent = "";
  const value = (id) => document.getElementById(id).value;
  try {
    await api("POST", "/api/sharing-agreements", {
      partner_commune: value("agreement-partner"),
      reference: value("agreement-reference"),
      starts_on: value("agreement-start"),
      ends_on: value("agreement-end"),
    });
  } catch (err) {
    error.textContent = err.message;
  }
  accounts.refresh();
});

// --- cameras and events ------------------------------------------------------------------------------------------

const cameras = {
  allowed: () => can("view_cameras"),
  enter() {
    this.refresh();
  },
  async refresh() {
    fill("cameras", state.cameras, (tr, c) => {
      tr.dataset.camera = c.id;
      cell(tr, `${c.name} (${c.id})`);
      cell(tr, c.commune_id);
      cell(tr, c.kind + (c.simulated ? " · simulated" : ""));
      stateCell(tr, c);
      cell(tr, c.reason);
      cell(tr, c.fps_in.toFixed(1));
    });
    try {
      const events = await api("GET", "/api/events?limit=20");
      fill("events", events.items, (tr, e) => {
        const secs = (new Date(e.ended_at) - new Date(e.started_at)) / 1000;
        cell(tr, String(e.id));
        cell(tr, cameraName(e.camera_id));
        cell(tr, e.kind);
        cell(tr, formatTime(e.started_at));
        cell(tr, `${secs.toFixed(1)} s`);
        cell(tr, e.score.toFixed(2));
      });
    } catch (err) {
      failed(err);
    }
  },
  onCameras() {
    this.refresh();
  },
};

export const VIEWS = {
  live,
  "wall-output": wallOutput,
  alerts,
  plates,
  map,
  playback,
  exports: exportsView,
  cases,
  access,
  governance,
  audit,
  cameras,
  health,
  accounts,
};
