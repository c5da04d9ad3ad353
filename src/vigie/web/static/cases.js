// The cases view (issue 22, docs/investigations.md#console): an investigator's cases, opened from a judicial
// requisition; a case's page with its scope, its holds (the evidence lock, L4), its closing; the investigation
// playback of its cameras in sync; the export of a selection into the case; the search of its recordings.
//
// Synchronised playback. One master clock (an instant on the wall clock, a speed, playing or paused) and up to
// MAX_SHOWN <video> elements that follow it. Each video plays its camera's recordings through the playback API's HLS
// playlist, as the playback view does: Debian's Chromium plays HLS natively from video.src, and the recorded
// segments are MPEG-TS, which Media Source Extensions do not take without a transmuxer in the page (mse.js is for
// the live fMP4 feed). The console reads the playlist itself first — every segment carries its
// #EXT-X-PROGRAM-DATE-TIME — to know which instant each second of the video shows; the video is then given that
// same text (as a blob, its segment URLs made absolute), so one playlist is asked for, and audited, per load.
// A tick (TICK_MS) moves the clock by the elapsed time times the speed — held still while a shown video waits for
// data, so no video is left behind — and seeks any video more than DRIFT_S off; the videos play at the clock's speed
// (playbackRate) between ticks, so seeks are rare.

import { api, can, cameraName, cell, el, failed, fill, NotLoggedIn, state } from "./app.js";
import { formatTime, t } from "./i18n.js";
import { fromParisWallClock, parisWallClock } from "./time.js";

const MAX_SHOWN = 4;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];
const TICK_MS = 200;
const DRIFT_S = 0.3; // a video further than this from the clock is put back on it (more above ×4: a tick is longer)
const WINDOW_BEFORE_MS = 60000; // a playlist is loaded from a minute before the instant …
const WINDOW_MS = 30 * 60000; // … for half an hour (the playback API takes up to an hour)
const BOOKMARK_LEAD_MS = 10000; // a bookmark plays from ten seconds before: what led to it
const BOOKMARK_RANGE_MS = 7 * 86400000; // the bookmarks endpoint's longest range
const DEFAULT_FPS = 25; // when the camera reports no frame rate (stopped, or not streaming now)
// The object menu: what the detector can say. COCO detectors have no van class (vigie.analytics.forensics.object_search):
// a van is found as a truck (or a car), so "van or truck" asks for both classes, and a detector with a van class fills it.
const CLASSES = ["person", "bicycle", "motorcycle", "car", "van,truck", "bus", "bag"];
const COLOURS = ["white", "black", "grey", "silver", "red", "blue", "green", "yellow", "orange", "brown", "beige"];
const DIRECTIONS = ["north", "north_east", "east", "south_east", "south", "south_west", "west", "north_west"];

const ANALYSIS_POLL_MS = 1000; // how often a running analysis is asked where it stands
const BOOKMARK_NOTE_MAX = 500;

const current = { case: null, bookmarks: [], exports: new Set() };

function refused(err, where) {
  // the API's refusals are said as the API words them, beside what was asked; an ended session logs out
  if (err instanceof NotLoggedIn) failed(err);
  else document.getElementById(where).textContent = err.message;
}

function period(item) {
  return `${formatTime(item.start)} – ${formatTime(item.end)}`;
}

// --- the list of cases and the form that opens one --------------------------------------------------------------

async function showList() {
  document.getElementById("cases-list-page").hidden = false;
  document.getElementById("case-page").hidden = true;
  const form = document.getElementById("case-form");
  form.hidden = !can("manage_cases");
  const cameras = document.getElementById("case-cameras");
  const chosen = new Set([...cameras.selectedOptions].map((o) => o.value));
  cameras.replaceChildren(...state.cameras.map((c) => el("option", { value: c.id, text: `${c.name} (${c.id})`, selected: chosen.has(c.id) })));
  const end = document.getElementById("case-end");
  const start = document.getElementById("case-start");
  if (!end.value) end.value = parisWallClock(new Date());
  if (!start.value) start.value = parisWallClock(new Date(Date.now() - 3600000));
  const day = document.getElementById("case-requisition-date");
  if (!day.value) day.value = parisWallClock(new Date()).slice(0, 10);
  try {
    const page = await api("GET", "/api/cases?limit=100");
    document.getElementById("cases-note").textContent = page.items.length ? "" : t("cases.none");
    fill("cases", page.items, (tr, c) => {
      tr.dataset.case = String(c.id);
      tr.className = "clickable";
      tr.tabIndex = 0;
      tr.addEventListener("click", () => { location.hash = `#/cases/${c.id}`; });
      cell(tr, formatTime(c.opened_at));
      cell(tr, c.reference);
      cell(tr, c.requisition_ref);
      cell(tr, `${c.authority} (${t(`cases.kind_${c.authority_kind}`)})`);
      cell(tr, c.camera_ids.map(cameraName).join(", "));
      cell(tr, period(c));
      cell(tr, t(`cases.state_${c.state}`), `state case-${c.state}`);
    });
  } catch (err) {
    refused(err, "case-error");
  }
}

document.getElementById("case-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("case-error");
  error.textContent = "";
  const value = (id) => document.getElementById(id).value;
  try {
    const opened = await api("POST", "/api/cases", {
      reference: value("case-reference"),
      requisition_ref: value("case-requisition"),
      authority: value("case-authority"),
      authority_kind: value("case-authority-kind"),
      requisition_date: value("case-requisition-date"),
      purpose: value("case-purpose"),
      camera_ids: [...document.getElementById("case-cameras").selectedOptions].map((o) => o.value),
      start: fromParisWallClock(value("case-start")).toISOString(),
      end: fromParisWallClock(value("case-end")).toISOString(),
    });
    event.target.reset();
    location.hash = `#/cases/${opened.id}`;
  } catch (err) {
    refused(err, "case-error");
  }
});

// --- a case's page -----------------------------------------------------------------------------------------------

async function showCase(id) {
  document.getElementById("cases-list-page").hidden = true;
  document.getElementById("case-page").hidden = false;
  for (const where of ["case-action-error", "sync-error", "case-search-error", "case-close-error", "case-analyse-error", "case-bookmarks-error", "case-motion-error"]) {
    document.getElementById(where).textContent = "";
  }
  let found;
  try {
    found = await api("GET", `/api/cases/${encodeURIComponent(id)}`);
  } catch (err) {
    sync.close(); // nothing of another case stays on the page
    current.case = null;
    document.getElementById("case-title").textContent = "";
    document.getElementById("case-body").hidden = true;
    refused(err, "case-action-error");
    return;
  }
  document.getElementById("case-body").hidden = false;
  const opening = !current.case || current.case.id !== found.id;
  current.case = found;
  renderCase();
  if (opening) {
    // what a person may do here follows their permissions; the API checks them again
    document.getElementById("case-sync").hidden = !can("playback");
    document.getElementById("sync-export-bar").hidden = !can("export");
    document.getElementById("case-exports-part").hidden = !can("export");
    fillChoices("search-class", CLASSES, "class"); // in the language chosen by now
    cameraBoxes("search-cameras", found.camera_ids, false);
    cameraBoxes("analyse-cameras", found.camera_ids, true);
    document.getElementById("analyse-start").value = parisWallClock(new Date(found.start));
    document.getElementById("analyse-end").value = parisWallClock(new Date(found.end));
    loadAnalyses(found);
    loadCaseBookmarks(found);
    const motionCamera = document.getElementById("motion-camera");
    motionCamera.replaceChildren(...found.camera_ids.map((camera) => el("option", { value: camera, text: `${cameraName(camera)} (${camera})` })));
    document.getElementById("motion-start").value = parisWallClock(new Date(found.start));
    document.getElementById("motion-end").value = parisWallClock(new Date(found.end));
    motion.reset();
    document.getElementById("motion-results").replaceChildren();
    document.getElementById("motion-results-note").textContent = "";
    fillChoices("search-colour", COLOURS, "colour");
    fillChoices("search-direction", DIRECTIONS, "direction");
    if (can("playback")) sync.open(found);
    loadBookmarks(found);
    refreshExports();
    const start = document.getElementById("search-start");
    const end = document.getElementById("search-end");
    start.value = parisWallClock(new Date(found.start));
    end.value = parisWallClock(new Date(found.end));
    document.getElementById("case-results").replaceChildren();
    document.getElementById("case-results-note").textContent = "";
  }
}

function renderCase() {
  const c = current.case;
  document.getElementById("case-title").textContent = t("cases.case_title", { reference: c.reference });
  const scope = document.getElementById("case-scope");
  const rows = [
    ["cases.state", t(`cases.state_${c.state}`)],
    ["cases.requisition", c.requisition_ref],
    ["cases.authority", `${c.authority} (${t(`cases.kind_${c.authority_kind}`)})`],
    ["cases.requisition_date", new Date(`${c.requisition_date}T12:00:00Z`).toLocaleDateString(undefined, { timeZone: "Europe/Paris" })],
    ["cases.purpose", c.purpose],
    ["nav.cameras", c.camera_ids.map(cameraName).join(", ")],
    ["cases.period", period(c)],
    ["cases.opened", `${formatTime(c.opened_at)} · ${c.opened_by}`],
  ];
  if (c.state === "closed") {
    rows.push(["cases.closed", `${formatTime(c.closed_at)} · ${c.closed_by} · ${t(`cases.decision_${c.hold_decision}`)} · ${c.close_reason}`]);
  }
  scope.replaceChildren(...rows.flatMap(([key, text]) => [el("dt", { text: t(key) }), el("dd", { text, dataset: { field: key.split(".")[1] } })]));
  const holds = document.getElementById("case-holds");
  holds.textContent = c.hold_ids.length ? t("cases.held", { holds: c.hold_ids.join(", ") }) : t("cases.not_held");
  holds.className = c.hold_ids.length ? "state state-held" : "note";
  const open = c.state === "open" && can("manage_cases");
  document.getElementById("case-lock").hidden = !open || c.hold_ids.length > 0;
  document.getElementById("case-close-form").hidden = !open;
  document.getElementById("case-close-title").hidden = !open;
  document.getElementById("case-analyse").hidden = !open; // a closed case is searched no more; its results stay readable
  document.getElementById("case-motion").hidden = !open || !can("playback"); // the region is drawn on the playback
  document.getElementById("case-bookmark-form").hidden = !open || !can("playback");
}

document.getElementById("case-lock").addEventListener("click", async () => {
  document.getElementById("case-action-error").textContent = "";
  try {
    current.case = await api("POST", `/api/cases/${current.case.id}/holds`);
    renderCase();
  } catch (err) {
    refused(err, "case-action-error");
  }
});

document.getElementById("case-close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  document.getElementById("case-close-error").textContent = "";
  try {
    current.case = await api("POST", `/api/cases/${current.case.id}/close`, {
      hold_decision: document.getElementById("case-decision").value,
      reason: document.getElementById("case-close-reason").value,
    });
    renderCase();
  } catch (err) {
    refused(err, "case-close-error");
  }
});

// The sensors' bookmarks on the case's cameras over its period (docs/integrations.md#sensors): "jump to" buttons.
async function loadBookmarks(c) {
  const box = document.getElementById("sync-bookmarks");
  box.replaceChildren();
  const ranges = []; // the endpoint takes at most BOOKMARK_RANGE_MS at once; a case's period is up to 31 days
  for (let from = new Date(c.start).getTime(), end = new Date(c.end).getTime(); from < end; from += BOOKMARK_RANGE_MS) {
    ranges.push(new URLSearchParams({ start: new Date(from).toISOString(), end: new Date(Math.min(end, from + BOOKMARK_RANGE_MS)).toISOString() }));
  }
  const lists = await Promise.all(
    c.camera_ids.flatMap((camera) => ranges.map((q) => api("GET", `/api/cameras/${encodeURIComponent(camera)}/bookmarks?${q}`)
      .then((items) => items.map((b) => ({ ...b, camera })))
      .catch(() => []))), // a server without sensors: no bookmarks
  );
  if (!current.case || current.case.id !== c.id) return;
  current.bookmarks = lists.flat().sort((a, b) => new Date(a.at) - new Date(b.at));
  if (!current.bookmarks.length) return;
  box.append(el("span", { class: "note", text: t("sync.bookmarks") }));
  for (const b of current.bookmarks) {
    const title = `${cameraName(b.camera)} — ${t("sensors.wall", { sensor: b.sensor, label: b.label })}`;
    box.append(el("button", {
      type: "button", class: "jump", title, dataset: { rule: b.rule, camera: b.camera }, text: formatTime(b.at),
      onclick: () => sync.seek(new Date(new Date(b.at).getTime() - BOOKMARK_LEAD_MS)),
    }));
  }
}

// --- synchronised playback ---------------------------------------------------------------------------------------

function parsePlaylist(text) {
  // what each piece of the video shows: its first instant (#EXT-X-PROGRAM-DATE-TIME) and its length (#EXTINF)
  const pieces = [];
  let at = null;
  let media = 0;
  const lines = text.split("\n").map((line) => line.trim());
  for (const line of lines) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) at = new Date(line.slice(25)).getTime();
    else if (line.startsWith("#EXTINF:")) {
      const seconds = parseFloat(line.slice(8));
      pieces.push({ at, seconds, media });
      media += seconds;
    }
  }
  const absolute = lines.map((line) => (line.startsWith("/") ? `${location.origin}${line}` : line)).join("\n");
  return { pieces, text: absolute };
}

class SyncTile {
  constructor(camera) {
    this.camera = camera;
    this.video = el("video", { muted: true, playsinline: true, preload: "auto", dataset: { camera } });
    this.video.muted = true;
    this.note = el("span", { class: "tile-state" });
    // the region of a motion search, drawn over the picture (viewBox: the picture normalised to 0..1)
    this.region = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.region.setAttribute("class", "region");
    this.region.setAttribute("viewBox", "0 0 1 1");
    this.region.setAttribute("preserveAspectRatio", "none");
    this.region.append(document.createElementNS("http://www.w3.org/2000/svg", "polygon"));
    this.region.style.display = "none";
    this.node = el("figure", { class: "tile sync-tile", dataset: { camera } }, this.video,
      el("figcaption", { class: "tile-name", text: `${cameraName(camera)} (${camera})` }), this.note, this.region);
    this.node.addEventListener("click", (event) => motion.click(this, event));
    this.video.addEventListener("loadedmetadata", () => motion.redraw());
    this.window = null; // [from, to) in ms of the loaded playlist
    this.pieces = [];
    this.loading = null;
    this.blob = null;
  }

  // the video's second that shows instant ms, or null where nothing of the loaded playlist covers it
  mediaTime(ms) {
    for (const p of this.pieces) {
      if (p.at !== null && ms >= p.at && ms < p.at + p.seconds * 1000) return p.media + (ms - p.at) / 1000;
    }
    return null;
  }

  covers(ms) {
    return this.window && ms >= this.window[0] && ms < this.window[1];
  }

  async load(ms, c) {
    const from = Math.max(new Date(c.start).getTime(), ms - WINDOW_BEFORE_MS);
    const to = Math.min(new Date(c.end).getTime(), from + WINDOW_MS);
    this.window = [from, to];
    const q = new URLSearchParams({ start: new Date(from).toISOString(), end: new Date(to).toISOString() });
    const loading = (async () => {
      const response = await fetch(`/api/cameras/${encodeURIComponent(this.camera)}/playback.m3u8?${q}`, { credentials: "same-origin" });
      if (response.status === 401) throw new NotLoggedIn();
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || response.statusText);
      }
      return parsePlaylist(await response.text());
    })();
    this.loading = loading;
    try {
      const playlist = await loading;
      if (this.loading !== loading) return;
      this.pieces = playlist.pieces;
      if (this.blob) URL.revokeObjectURL(this.blob);
      this.blob = URL.createObjectURL(new Blob([playlist.text], { type: "application/vnd.apple.mpegurl" }));
      this.note.textContent = "";
      this.video.src = this.blob;
    } catch (err) {
      if (this.loading !== loading) return;
      if (err instanceof NotLoggedIn) failed(err);
      this.pieces = [];
      this.video.removeAttribute("src");
      this.note.textContent = err.message;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }

  stop() {
    this.loading = null;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    if (this.blob) URL.revokeObjectURL(this.blob);
    this.blob = null;
  }
}

const sync = {
  case: null,
  tiles: [],
  at: 0, // the master clock: the instant shown, in ms
  rate: 1,
  playing: false,
  last: 0,
  timer: null,
  markIn: null,
  markOut: null,

  open(c) {
    this.close();
    this.case = c;
    this.at = new Date(c.start).getTime();
    this.markIn = null;
    this.markOut = null;
    const chosen = c.camera_ids.slice(0, Math.min(2, MAX_SHOWN));
    const box = document.getElementById("sync-cameras");
    box.replaceChildren(el("legend", { text: t("sync.cameras", { max: MAX_SHOWN }) }), ...c.camera_ids.map((camera) => {
      const input = el("input", { type: "checkbox", value: camera, checked: chosen.includes(camera) });
      input.addEventListener("change", () => this.choose(input));
      return el("label", {}, input, ` ${cameraName(camera)} (${camera})`);
    }));
    const slider = document.getElementById("sync-slider");
    slider.setAttribute("aria-label", t("sync.slider"));
    slider.min = "0";
    slider.max = String(new Date(c.end) - new Date(c.start) - 1000);
    slider.value = "0";
    document.getElementById("sync-from").textContent = formatTime(c.start);
    document.getElementById("sync-to").textContent = formatTime(c.end);
    document.getElementById("sync-speed").value = "1";
    this.rate = 1;
    this.show(chosen);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.render();
  },

  choose(input) {
    const boxes = [...document.querySelectorAll("#sync-cameras input")];
    const picked = boxes.filter((b) => b.checked).map((b) => b.value);
    if (picked.length > MAX_SHOWN) {
      input.checked = false;
      document.getElementById("sync-error").textContent = t("sync.too_many", { max: MAX_SHOWN });
      return;
    }
    document.getElementById("sync-error").textContent = "";
    this.show(picked);
  },

  show(cameras) {
    const kept = this.tiles.filter((tile) => cameras.includes(tile.camera));
    for (const tile of this.tiles) if (!kept.includes(tile)) tile.stop();
    this.tiles = cameras.map((camera) => kept.find((tile) => tile.camera === camera) || new SyncTile(camera));
    document.getElementById("sync-wall").replaceChildren(...this.tiles.map((tile) => tile.node));
    for (const tile of this.tiles) if (!tile.covers(this.at)) tile.load(this.at, this.case);
    motion.redraw();
    const marking = document.getElementById("case-bookmark-camera"); // a bookmark is of a camera shown
    const chosen = marking.value;
    marking.replaceChildren(...cameras.map((camera) => el("option", { value: camera, text: `${cameraName(camera)} (${camera})` })));
    if (cameras.includes(chosen)) marking.value = chosen;
  },

  // play from an instant with this camera among those shown (in place of the last one when the wall is full)
  reveal(camera, date) {
    if (!this.case) return;
    const shown = this.tiles.map((tile) => tile.camera);
    if (!shown.includes(camera)) {
      const picked = [...shown.slice(0, MAX_SHOWN - 1), camera];
      for (const box of document.querySelectorAll("#sync-cameras input")) box.checked = picked.includes(box.value);
      this.show(picked);
    }
    document.getElementById("case-bookmark-camera").value = camera;
    this.seek(date);
  },

  close() {
    clearInterval(this.timer);
    this.timer = null;
    for (const tile of this.tiles) tile.stop();
    this.tiles = [];
    this.playing = false;
    this.case = null;
  },

  fps() {
    // the frame rate of the shown cameras (as the cameras API reports it), for stepping one frame
    const rates = this.tiles.map((tile) => (state.cameras.find((c) => c.id === tile.camera) || {}).fps_in).filter((f) => f > 0);
    return rates.length ? Math.max(...rates) : DEFAULT_FPS;
  },

  seek(date) {
    if (!this.case) return; // no playback here (a reader of cases without the playback permission)
    const start = new Date(this.case.start).getTime();
    const end = new Date(this.case.end).getTime();
    this.at = Math.min(Math.max(date.getTime(), start), end - 1);
    for (const tile of this.tiles) {
      if (tile.covers(this.at)) this.follow(tile, true);
      else tile.load(this.at, this.case);
    }
    this.render();
  },

  step(frames) {
    this.pause();
    this.seek(new Date(this.at + (frames * 1000) / this.fps()));
  },

  play() {
    this.playing = true;
    this.last = performance.now();
    for (const tile of this.tiles) this.follow(tile, true);
    this.render();
  },

  pause() {
    this.playing = false;
    for (const tile of this.tiles) { // each paused on the clock's instant exactly, not where it was between ticks
      tile.video.pause();
      this.follow(tile, true);
    }
    this.render();
  },

  speed(rate) {
    this.rate = rate;
    for (const tile of this.tiles) tile.video.playbackRate = rate;
    this.render();
  },

  // a video put on the master clock: the right second, the right speed, playing or paused with it
  follow(tile, force = false) {
    const video = tile.video;
    if (!video.src || tile.loading) return;
    const media = tile.mediaTime(this.at);
    if (media === null) { // nothing recorded at this instant on this camera
      video.pause();
      tile.note.textContent = t("sync.nothing");
      return;
    }
    if (tile.note.textContent === t("sync.nothing")) tile.note.textContent = "";
    if (video.readyState < 1) return; // the playlist is still being read: followed at its next tick
    if (video.playbackRate !== this.rate) video.playbackRate = this.rate;
    if (force || Math.abs(video.currentTime - media) > DRIFT_S * Math.max(1, this.rate / 4)) video.currentTime = media;
    if (this.playing && video.paused) video.play().catch(() => {});
    if (!this.playing && !video.paused) video.pause();
  },

  tick() {
    if (!this.case) return;
    const now = performance.now();
    if (this.playing) {
      // the clock waits for a shown video that is still fetching data where it should be playing
      const waiting = this.tiles.some((tile) => tile.loading
        || (tile.video.src && tile.mediaTime(this.at) !== null && tile.video.readyState < 3));
      if (!waiting) this.at += (now - this.last) * this.rate;
      const end = new Date(this.case.end).getTime();
      if (this.at >= end) {
        this.at = end - 1;
        this.pause();
      }
    }
    this.last = now;
    for (const tile of this.tiles) {
      if (!tile.covers(this.at) && !tile.loading) tile.load(this.at, this.case);
      else this.follow(tile);
    }
    this.render();
  },

  render() {
    if (!this.case) return;
    // to the millisecond: a frame is 40 ms at 25 fps
    const ms = String(Math.floor(this.at) % 1000).padStart(3, "0");
    document.getElementById("sync-time").textContent = `${formatTime(new Date(this.at).toISOString())}.${ms}`;
    document.getElementById("sync-time").dataset.at = new Date(this.at).toISOString();
    const slider = document.getElementById("sync-slider");
    if (document.activeElement !== slider) slider.value = String(this.at - new Date(this.case.start).getTime());
    const play = document.getElementById("sync-play");
    play.textContent = this.playing ? t("sync.pause") : t("sync.play");
    document.getElementById("sync-back").disabled = this.playing;
    document.getElementById("sync-forward").disabled = this.playing;
    const selection = document.getElementById("sync-selection");
    const mark = (ms) => (ms === null ? "…" : formatTime(new Date(ms).toISOString()));
    selection.textContent = t("sync.selection", { from: mark(this.markIn), to: mark(this.markOut) });
    document.getElementById("sync-export").disabled = this.markIn === null || this.markOut === null || !this.tiles.length;
  },
};

document.getElementById("sync-speed").replaceChildren(...SPEEDS.map((s) => el("option", { value: String(s), text: `×${s}` })));
document.getElementById("sync-speed").addEventListener("change", (event) => sync.speed(Number(event.target.value)));
document.getElementById("sync-play").addEventListener("click", () => (sync.playing ? sync.pause() : sync.play()));
document.getElementById("sync-back").addEventListener("click", () => sync.step(-1));
document.getElementById("sync-forward").addEventListener("click", () => sync.step(1));
document.getElementById("sync-slider").addEventListener("change", (event) => {
  sync.seek(new Date(new Date(sync.case.start).getTime() + Number(event.target.value)));
});
document.getElementById("sync-mark-in").addEventListener("click", () => { sync.markIn = Math.floor(sync.at / 1000) * 1000; sync.render(); });
document.getElementById("sync-mark-out").addEventListener("click", () => { sync.markOut = Math.ceil(sync.at / 1000) * 1000; sync.render(); });

// --- exports of a selection into the case --------------------------------------------------------------------------

document.getElementById("sync-export").addEventListener("click", async () => {
  const error = document.getElementById("sync-error");
  error.textContent = "";
  const c = current.case;
  const [from, to] = [Math.min(sync.markIn, sync.markOut), Math.max(sync.markIn, sync.markOut)];
  try {
    const job = await api("POST", "/api/exports", {
      camera_ids: sync.tiles.map((tile) => tile.camera),
      start: new Date(from).toISOString(),
      end: new Date(to).toISOString(),
      reason: document.getElementById("sync-export-reason").value || t("sync.export_reason", { reference: c.reference }),
      requisition_ref: c.requisition_ref,
    });
    current.exports.add(job.id);
    refreshExports();
  } catch (err) {
    refused(err, "sync-error");
  }
});

async function refreshExports() {
  clearTimeout(refreshExports.soon);
  const c = current.case;
  if (!c || state.view !== "cases" || !can("export")) return;
  try {
    const page = await api("GET", "/api/exports?limit=100");
    // the case's exports: those made under its requisition
    const mine = page.items.filter((job) => job.requisition_ref === c.requisition_ref);
    if (mine.some((job) => job.state === "queued" || job.state === "running")) refreshExports.soon = setTimeout(refreshExports, 1000);
    document.getElementById("case-exports-note").textContent = mine.length ? "" : t("cases.no_exports");
    fill("case-exports", mine, (tr, job) => {
      tr.dataset.export = job.id;
      tr.dataset.state = job.state;
      tr.dataset.cameras = job.camera_ids.join(" ");
      cell(tr, formatTime(job.created_at));
      cell(tr, job.camera_ids.map(cameraName).join(", "));
      cell(tr, period(job), "period");
      cell(tr, job.requisition_ref, "requisition");
      const progress = el("progress", { max: "1", value: String(job.progress) });
      cell(tr, "").append(progress, ` ${Math.round(job.progress * 100)} % · ${job.state}${job.error ? ` · ${job.error}` : ""}`);
      const pkg = cell(tr, "");
      if (job.state === "done" && job.package) {
        pkg.appendChild(el("a", { href: job.package.url, download: job.package.name, text: t("exports.download"), class: "download" }));
      }
    });
  } catch (err) {
    refused(err, "sync-error");
  }
}

// --- search of the case's recordings (results of the analysis, within the case's scope only) ------------------------

function fillChoices(id, values, prefix) {
  const select = document.getElementById(id);
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: t("search.any") }), ...values.map((v) => el("option", { value: v, text: t(`${prefix}.${v.replaceAll(",", "_or_")}`) })));
  select.value = chosen;
}


document.getElementById("case-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const c = current.case;
  const error = document.getElementById("case-search-error");
  error.textContent = "";
  const q = new URLSearchParams({ limit: "50" });
  for (const name of ["class", "colour", "direction"]) {
    const value = document.getElementById(`search-${name}`).value;
    for (const one of value ? value.split(",") : []) q.append(name, one);
  }
  for (const camera of ticked("search-cameras")) q.append("camera", camera);
  try {
    q.set("start", fromParisWallClock(document.getElementById("search-start").value).toISOString());
    q.set("end", fromParisWallClock(document.getElementById("search-end").value).toISOString());
    const answer = await api("GET", `/api/cases/${c.id}/objects?${q}`);
    showResults(c, Array.isArray(answer) ? answer : answer.items || []);
  } catch (err) {
    refused(err, "case-search-error"); // a 404 or 405 of a server without the search says so, as the API words it
  }
});

function showResults(c, items) {
  const box = document.getElementById("case-results");
  document.getElementById("case-results-note").textContent = items.length ? t("search.found", { count: items.length }) : t("search.none");
  const start = new Date(c.start).getTime();
  const total = new Date(c.end).getTime() - start;
  const line = el("div", { class: "timeline results-timeline" });
  const list = el("ol", { class: "results" });
  for (const item of items) {
    const seek = () => sync.reveal(item.camera_id, new Date(item.first_seen));
    const title = `${formatTime(item.first_seen)} · ${cameraName(item.camera_id)} · ${t(`class.${item.class}`)}`;
    const mark = el("button", { type: "button", class: "bookmark", title, "aria-label": title, onclick: seek });
    mark.style.left = `${((new Date(item.first_seen) - start) / total) * 100}%`;
    line.append(mark);
    const words = [t(`class.${item.class}`), item.colour ? t(`colour.${item.colour}`) : null, item.direction ? t(`direction.${item.direction}`) : null];
    list.append(el("li", { class: "result", dataset: { object: String(item.id), camera: item.camera_id } },
      el("button", { type: "button", onclick: seek, title: t("search.play") },
        el("img", { src: `/api/cases/${c.id}/objects/${encodeURIComponent(item.id)}/thumbnail.jpg`, alt: title, loading: "lazy" })),
      el("span", { text: `${formatTime(item.first_seen)} – ${formatTime(item.last_seen)} · ${cameraName(item.camera_id)}` }),
      el("span", { text: words.filter(Boolean).join(" · ") }),
      c.state === "open" && can("manage_cases") && can("playback")
        ? el("button", { type: "button", class: "result-bookmark", text: t("bookmarks.add_result"),
          onclick: () => addCaseBookmark(item.camera_id, new Date(item.first_seen), words.filter(Boolean).join(" · ")) })
        : null));
  }
  box.replaceChildren(line, list);
}

function cameraBoxes(id, cameras, checked) {
  const box = document.getElementById(id);
  box.replaceChildren(box.querySelector("legend"), ...cameras.map((camera) => el("label", {},
    el("input", { type: "checkbox", value: camera, checked }), ` ${cameraName(camera)} (${camera})`)));
}

function ticked(id) {
  return [...document.querySelectorAll(`#${id} input:checked`)].map((box) => box.value);
}

// --- analysis of the case's recordings: a job in the background (the shared detector and the tracker over the
// footage of the cameras and period chosen, within the case's scope); its objects are then searched above --------

const analyses = { jobs: new Map(), timer: null };

async function loadAnalyses(c) {
  analyses.jobs.clear();
  clearTimeout(analyses.timer);
  try {
    const page = await api("GET", `/api/cases/${c.id}/searches`);
    if (!current.case || current.case.id !== c.id) return;
    for (const job of Array.isArray(page) ? page : page.items || []) analyses.jobs.set(job.id, job);
  } catch (err) {
    if (err instanceof NotLoggedIn) failed(err); // a server without the list shows this page's analyses only
  }
  renderAnalyses();
}

function renderAnalyses() {
  const jobs = [...analyses.jobs.values()].sort((a, b) => b.id - a.id);
  fill("case-analyses", jobs, (tr, job) => {
    const kind = job.kind || "objects";
    tr.dataset.job = String(job.id);
    tr.dataset.state = job.state;
    tr.dataset.kind = kind;
    cell(tr, `${formatTime(job.requested_at)} · ${job.requested_by}`);
    cell(tr, job.camera_ids.map(cameraName).join(", "));
    cell(tr, period(job));
    cell(tr, t(`analyse.kind_${kind}`));
    const done = job.state === "done" || job.state === "failed";
    cell(tr, job.state === "failed" ? `${t("analyse.failed")} ${job.error || ""}` : done ? t("analyse.done")
      : `${t(`analyse.${job.state}`)} ${Math.round(job.progress * 100)} %`, `state analyse-${job.state}`);
    cell(tr, String(job.found ?? job.objects_found ?? 0), "found");
    const action = cell(tr, "");
    if (kind === "motion" && job.state === "done") {
      action.append(el("button", { type: "button", class: "show-hits", text: t("analyse.show"), onclick: () => showMotionHits(job) }));
    }
  });
  clearTimeout(analyses.timer);
  if (jobs.some((job) => job.state === "queued" || job.state === "running")) analyses.timer = setTimeout(pollAnalyses, ANALYSIS_POLL_MS);
}

async function pollAnalyses() {
  const c = current.case;
  if (!c) return;
  const waiting = [...analyses.jobs.values()].filter((job) => job.state === "queued" || job.state === "running");
  const finished = [];
  try {
    for (const job of waiting) {
      const now = await api("GET", `/api/cases/${c.id}/searches/${job.id}`);
      analyses.jobs.set(job.id, now);
      if (now.state === "done" && now.kind === "motion") finished.push(now);
    }
  } catch (err) {
    refused(err, "case-analyse-error");
  }
  if (!current.case || current.case.id !== c.id) return;
  renderAnalyses();
  for (const job of finished) showMotionHits(job); // a motion search just done: its spans shown at once
}

// --- motion in a region: drawn on the camera's picture in the playback, searched in the background ------------------

const motion = {
  drawing: false,
  points: [],

  reset() {
    this.drawing = false;
    this.points = [];
    this.redraw();
  },

  camera() {
    return document.getElementById("motion-camera").value;
  },

  start() {
    document.getElementById("case-motion-error").textContent = "";
    sync.reveal(this.camera(), new Date(sync.at)); // the camera shown, where the clock is
    this.drawing = true;
    this.points = [];
    document.getElementById("motion-results-note").textContent = t("motion.drawing");
    this.redraw();
    const tile = sync.tiles.find((shown) => shown.camera === this.camera());
    if (tile) tile.node.scrollIntoView({ block: "center" }); // the picture to draw on, in view
  },

  click(tile, event) {
    if (!this.drawing || tile.camera !== this.camera() || this.points.length >= 32) return;
    const box = tile.video.getBoundingClientRect();
    const picture = contentRect(tile.video);
    const x = (event.clientX - box.left - picture.left) / picture.width;
    const y = (event.clientY - box.top - picture.top) / picture.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return; // on the black bands, not the picture
    this.points.push([Math.round(x * 10000) / 10000, Math.round(y * 10000) / 10000]);
    this.redraw();
  },

  redraw() {
    document.getElementById("motion-points").textContent = this.points.length ? t("motion.points", { count: this.points.length }) : "";
    for (const tile of sync.tiles) {
      const mine = tile.camera === this.camera() && this.points.length > 0;
      tile.node.classList.toggle("drawing", this.drawing && tile.camera === this.camera());
      tile.region.style.display = mine ? "" : "none";
      if (!mine) continue;
      const picture = contentRect(tile.video);
      Object.assign(tile.region.style, { left: `${picture.left}px`, top: `${picture.top}px`, width: `${picture.width}px`, height: `${picture.height}px` });
      tile.region.firstChild.setAttribute("points", this.points.map(([x, y]) => `${x},${y}`).join(" "));
    }
  },
};

// where the picture lies in a <video> that shows it whole (object-fit: contain): its offset and size in pixels
function contentRect(video) {
  const width = video.clientWidth;
  const height = video.clientHeight;
  const scale = Math.min(width / (video.videoWidth || 16), height / (video.videoHeight || 9));
  const w = (video.videoWidth || 16) * scale;
  const h = (video.videoHeight || 9) * scale;
  return { left: (width - w) / 2, top: (height - h) / 2, width: w, height: h };
}

document.getElementById("motion-draw").addEventListener("click", () => motion.start());
document.getElementById("motion-clear").addEventListener("click", () => motion.reset());
document.getElementById("motion-camera").addEventListener("change", () => motion.reset());

document.getElementById("case-motion").addEventListener("submit", async (event) => {
  event.preventDefault();
  const c = current.case;
  const error = document.getElementById("case-motion-error");
  error.textContent = "";
  if (motion.points.length < 3) {
    error.textContent = t("motion.need_region");
    return;
  }
  try {
    const job = await api("POST", `/api/cases/${c.id}/motion-searches`, {
      camera_id: motion.camera(),
      start: fromParisWallClock(document.getElementById("motion-start").value).toISOString(),
      end: fromParisWallClock(document.getElementById("motion-end").value).toISOString(),
      region: motion.points,
    });
    motion.drawing = false;
    motion.redraw();
    document.getElementById("motion-results-note").textContent = "";
    analyses.jobs.set(job.id, job);
    renderAnalyses();
  } catch (err) {
    refused(err, "case-motion-error");
  }
});

async function showMotionHits(job) {
  const c = current.case;
  let items = [];
  try {
    items = (await api("GET", `/api/cases/${c.id}/searches/${job.id}/hits?limit=500`)).items;
  } catch (err) {
    refused(err, "case-motion-error");
    return;
  }
  if (!current.case || current.case.id !== c.id) return;
  document.getElementById("motion-results-note").textContent = items.length ? t("motion.found", { count: items.length }) : t("motion.none");
  const start = new Date(c.start).getTime();
  const total = new Date(c.end).getTime() - start;
  const line = el("div", { class: "timeline results-timeline" });
  const list = el("ol", { class: "motion-hits" });
  for (const hit of items) {
    const play = () => sync.reveal(hit.camera_id, new Date(hit.peak_at));
    const text = t("motion.hit", { from: formatTime(hit.start), to: formatTime(hit.end), camera: cameraName(hit.camera_id), percent: Math.round(hit.peak_fraction * 100) });
    const mark = el("button", { type: "button", class: "bookmark", title: text, "aria-label": text, onclick: play });
    mark.style.left = `${((new Date(hit.start) - start) / total) * 100}%`;
    line.append(mark);
    list.append(el("li", { dataset: { hit: String(hit.id), camera: hit.camera_id, start: hit.start, end: hit.end } },
      el("button", { type: "button", class: "motion-hit", text, onclick: play })));
  }
  document.getElementById("motion-results").replaceChildren(line, list);
}

document.getElementById("case-analyse").addEventListener("submit", async (event) => {
  event.preventDefault();
  const c = current.case;
  document.getElementById("case-analyse-error").textContent = "";
  try {
    const job = await api("POST", `/api/cases/${c.id}/searches`, {
      camera_ids: ticked("analyse-cameras"),
      start: fromParisWallClock(document.getElementById("analyse-start").value).toISOString(),
      end: fromParisWallClock(document.getElementById("analyse-end").value).toISOString(),
    });
    analyses.jobs.set(job.id, job);
    renderAnalyses();
  } catch (err) {
    refused(err, "case-analyse-error"); // outside the scope, or no camera ticked: as the API words it
  }
});

// --- the case's own bookmarks: an instant of one of its cameras, with the investigator's note ----------------------

async function loadCaseBookmarks(c) {
  let items = [];
  try {
    const answer = await api("GET", `/api/cases/${c.id}/bookmarks`);
    items = Array.isArray(answer) ? answer : answer.items || [];
  } catch (err) {
    refused(err, "case-bookmarks-error");
  }
  if (!current.case || current.case.id !== c.id) return;
  items.sort((a, b) => new Date(a.at) - new Date(b.at));
  document.getElementById("case-bookmarks-note").textContent = items.length ? t("bookmarks.title") : t("bookmarks.none");
  const removable = c.state === "open" && can("manage_cases");
  document.getElementById("case-bookmarks").replaceChildren(...items.map((b) => el("li", { dataset: { bookmark: String(b.id), camera: b.camera_id } },
    el("button", { type: "button", class: "case-jump", text: formatTime(b.at), title: t("bookmarks.jump"),
      onclick: () => sync.reveal(b.camera_id, new Date(b.at)) }),
    el("span", { text: ` ${cameraName(b.camera_id)} · ${b.note || "—"} · ${b.created_by} ` }),
    removable ? el("button", { type: "button", class: "case-bookmark-remove", text: t("bookmarks.remove"), onclick: () => removeCaseBookmark(b) }) : null)));
}

async function addCaseBookmark(camera, at, note) {
  const c = current.case;
  document.getElementById("case-bookmarks-error").textContent = "";
  try {
    await api("POST", `/api/cases/${c.id}/bookmarks`, { camera_id: camera, at: at.toISOString(), note: note.slice(0, BOOKMARK_NOTE_MAX) });
    await loadCaseBookmarks(c);
  } catch (err) {
    refused(err, "case-bookmarks-error");
  }
}

async function removeCaseBookmark(b) {
  if (!confirm(t("bookmarks.remove_confirm", { at: formatTime(b.at) }))) return;
  const c = current.case;
  try {
    await api("DELETE", `/api/cases/${c.id}/bookmarks/${b.id}`);
    await loadCaseBookmarks(c);
  } catch (err) {
    refused(err, "case-bookmarks-error");
  }
}

document.getElementById("case-bookmark-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const note = document.getElementById("case-bookmark-note");
  addCaseBookmark(document.getElementById("case-bookmark-camera").value, new Date(sync.at), note.value.trim())
    .then(() => { if (!document.getElementById("case-bookmarks-error").textContent) note.value = ""; });
});

// --- the view ------------------------------------------------------------------------------------------------------

export const cases = {
  allowed: () => can("read_cases") || can("manage_cases"),
  enter(args) {
    if (args[0]) showCase(args[0]);
    else {
      sync.close();
      current.case = null;
      showList();
    }
  },
  leave() {
    sync.close();
    clearTimeout(analyses.timer);
    current.case = null;
    clearTimeout(refreshExports.soon);
  },
};
