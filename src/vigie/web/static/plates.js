// The plates view (LAPI, issue 18): the matches of one's own state tenant, a match's plate crop, its procedure hold,
// and the reads and matches counted per camera per day. Every query of these is written to the audit log under the
// person's name (one line per look, L35), so nothing here is asked for without a click: the view has no refresh()
// and no onAlert() (the console's 5-s refresh and live feed never reach it), entering it asks nothing, and a crop is
// fetched only when its match is opened. Reads that matched no list are never shown: no route returns them, only
// their number per day. What was loaded is dropped when the view is left.

import { api, can, cameraName, cell, el, failed, fill, NotLoggedIn, state, status } from "./app.js";
import { formatTime, t } from "./i18n.js";
import { fromParisWallClock } from "./time.js";

const loaded = { matches: null, counts: null, open: null };

function ownCameras() {
  // Plate reads are of one's own tenant's cameras only (a sharing agreement shares cameras, never plate reads).
  return state.cameras.filter((c) => c.commune_id === state.me.commune_id);
}

function fillCameraFilter(select) {
  const chosen = select.value;
  const all = el("option", { value: "", text: t("plates.all_cameras") });
  select.replaceChildren(all, ...ownCameras().map((c) => el("option", { value: c.id, text: `${c.name} (${c.id})` })));
  select.value = chosen && ownCameras().some((c) => c.id === chosen) ? chosen : "";
}

function refused(err, where) {
  // The API's refusals (and a filter that does not read) are said beside the form; an ended session logs out.
  if (err instanceof NotLoggedIn) failed(err);
  else document.getElementById(where).textContent = err.message;
}

function holdText(match) {
  if (match.hold) return t("plates.held", { reference: match.hold.reference, by: match.hold.placed_by });
  return t("plates.kept_until", { time: formatTime(match.expires_at) });
}

function renderMatches() {
  const note = document.getElementById("plates-matches-note");
  if (loaded.matches === null) {
    note.textContent = t("plates.not_loaded");
    fill("plate-matches", [], () => {});
    return;
  }
  note.textContent = loaded.matches.length ? t("plates.loaded", { count: loaded.matches.length }) : t("plates.none");
  fill("plate-matches", loaded.matches, (tr, m) => {
    tr.dataset.match = String(m.id);
    tr.tabIndex = 0;
    tr.className = loaded.open && loaded.open.id === m.id ? "clickable selected" : "clickable";
    tr.addEventListener("click", () => openMatch(m));
    tr.addEventListener("keydown", (event) => { if (event.key === "Enter") openMatch(m); });
    cell(tr, formatTime(m.at));
    cell(tr, `${cameraName(m.camera_id)} (${m.camera_id})`);
    cell(tr, m.display, "plate");
    cell(tr, m.list_name);
    cell(tr, m.reason);
    cell(tr, m.confidence.toFixed(2));
    cell(tr, holdText(m), m.hold ? "state state-held" : "");
  });
}

function renderCounts() {
  const note = document.getElementById("plates-counts-note");
  if (loaded.counts === null) {
    note.textContent = t("plates.not_loaded");
    fill("plate-counts", [], () => {});
    return;
  }
  note.textContent = loaded.counts.length ? "" : t("plates.no_counts");
  fill("plate-counts", loaded.counts, (tr, c) => {
    tr.dataset.camera = c.camera_id;
    cell(tr, c.day);
    cell(tr, `${cameraName(c.camera_id)} (${c.camera_id})`);
    cell(tr, String(c.reads));
    cell(tr, String(c.matches));
  });
}

function closeMatch() {
  loaded.open = null;
  const box = document.getElementById("plate-match");
  box.hidden = true;
  const img = document.getElementById("plate-crop");
  img.removeAttribute("src"); // the crop leaves the page with the match
  document.getElementById("plate-hold-error").textContent = "";
}

function renderOpen() {
  const m = loaded.open;
  if (!m) return;
  document.getElementById("plate-match").hidden = false;
  document.getElementById("plate-match").dataset.match = String(m.id);
  document.getElementById("plate-match-title").textContent = m.display;
  document.getElementById("plate-match-details").textContent = t("plates.details", {
    time: formatTime(m.at), camera: cameraName(m.camera_id), list: m.list_name, reason: m.reason,
    confidence: m.confidence.toFixed(2),
  });
  document.getElementById("plate-match-hold").textContent = holdText(m);
  const mayHold = can("hold_plate_matches");
  document.getElementById("plate-hold-form").hidden = !mayHold || Boolean(m.hold);
  document.getElementById("plate-release-form").hidden = !mayHold || !m.hold;
}

function openMatch(match) {
  closeMatch();
  loaded.open = match;
  const img = document.getElementById("plate-crop");
  img.alt = t("plates.crop_of", { plate: match.display });
  img.src = `/api/plates/matches/${match.id}/crop`; // asked now, on this click, and audited as a crop viewed
  renderOpen();
  renderMatches(); // the selected row
}

function replaced(match) {
  // A hold or its release answers the match as it now is: shown without another (audited) query.
  loaded.matches = loaded.matches.map((m) => (m.id === match.id ? match : m));
  loaded.open = match;
  renderOpen();
  renderMatches();
}

async function loadMatches(event) {
  event.preventDefault();
  const params = new URLSearchParams({ limit: "200" });
  const camera = document.getElementById("plates-camera").value;
  const since = document.getElementById("plates-since").value;
  const alert = document.getElementById("plates-alert").value;
  document.getElementById("plates-error").textContent = "";
  try {
    if (camera) params.set("camera_id", camera);
    if (since) params.set("since", fromParisWallClock(since).toISOString());
    if (alert) params.set("alert_id", alert);
    closeMatch();
    loaded.matches = await api("GET", `/api/plates/matches?${params}`);
    renderMatches();
    status(t("plates.recorded"));
  } catch (err) {
    refused(err, "plates-error");
  }
}

async function loadCounts(event) {
  event.preventDefault();
  const params = new URLSearchParams();
  const camera = document.getElementById("counts-camera").value;
  const since = document.getElementById("counts-since").value;
  const until = document.getElementById("counts-until").value;
  if (camera) params.set("camera_id", camera);
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  document.getElementById("counts-error").textContent = "";
  try {
    loaded.counts = await api("GET", `/api/plates/counts?${params}`);
    renderCounts();
    status(t("plates.recorded"));
  } catch (err) {
    refused(err, "counts-error");
  }
}

async function changeHold(event, action) {
  event.preventDefault();
  const match = loaded.open;
  if (!match) return;
  const input = document.getElementById(action === "hold" ? "plate-hold-reference" : "plate-release-reason");
  const body = action === "hold" ? { reference: input.value.trim() } : { reason: input.value.trim() };
  document.getElementById("plate-hold-error").textContent = "";
  try {
    replaced(await api("POST", `/api/plates/matches/${match.id}/${action}`, body));
    input.value = "";
  } catch (err) {
    refused(err, "plate-hold-error");
  }
}

export const plates = {
  allowed: () => can("read_plate_matches"),
  enter(args, query) {
    // Nothing is asked here: the filters are set, and what this visit loaded (if anything) is drawn again.
    fillCameraFilter(document.getElementById("plates-camera"));
    fillCameraFilter(document.getElementById("counts-camera"));
    if (query.get("alert")) document.getElementById("plates-alert").value = query.get("alert");
    document.getElementById("plates-counts").hidden = !can("view_cameras");
    renderMatches();
    renderCounts();
    renderOpen();
  },
  leave() {
    closeMatch();
    loaded.matches = null;
    loaded.counts = null;
    renderMatches();
    renderCounts();
  },
};

document.getElementById("plates-form").addEventListener("submit", loadMatches);
document.getElementById("counts-form").addEventListener("submit", loadCounts);
document.getElementById("plate-hold-form").addEventListener("submit", (event) => changeHold(event, "hold"));
document.getElementById("plate-release-form").addEventListener("submit", (event) => changeHold(event, "release"));
document.getElementById("plate-close").addEventListener("click", () => { closeMatch(); renderMatches(); });
document.getElementById("plate-crop").addEventListener("error", (event) => {
  if (event.target.getAttribute("src")) document.getElementById("plate-hold-error").textContent = t("plates.crop_failed");
});
