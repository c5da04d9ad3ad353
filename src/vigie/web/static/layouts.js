// The live view's layouts (issue 24): a grid of tiles in a chosen layout (1, 4, 9, 16, 25 tiles, or one or two
// large tiles among small ones, as a supervision room's video management software offers). A tile shows one camera,
// or cycles through a few (a tour); one tile may be the alarm tile. Layouts are saved per person on the server
// (/api/layouts) and shared with roles of the commune. Other monitors: a detached window (#/live?screen=N) shows
// its own layout, kept in sync with the main window over the BroadcastChannel "vigie-screens"; a video-wall output
// (#/wall-output/<name>, no header, tiles only) shows what the console set for it on the server, read every few
// seconds by the wall controller's browser.
//
// Video in a tile: a camera without privacy masks plays its own H.264 (one MsePlayer per tile, mse.js); the others
// come as JPEG images over one WebSocket (/api/live/wall: a browser holds at most six HTTP connections to a server,
// one MJPEG response per tile would starve the rest of the console). That socket takes at most 16 cameras: a
// layout with more JPEG tiles opens one more.

import { api, can, cameraName, el, failed, state, status } from "./app.js";
import { language, t } from "./i18n.js";
import { MsePlayer, mseSupported } from "./mse.js";
import { shortcut } from "./keys.js";

export const GRIDS = { "1": 1, "4": 4, "9": 9, "16": 16, "25": 25, "1+5": 6, "1+7": 8, "2+8": 10, "1+12": 13 };
const SOCKET_MAX = 16; // cameras one /api/live/wall socket shows (the server's WALL_MAX)
const OUTPUT_POLL_MS = 2000; // how often a wall output asks what it shows
const SENSOR_SHOW_MS = 120000;
const SHARE_ROLES = ["operator", "supervisor", "investigator", "dpo"];
const CHANNEL = "vigie-screens";

// --- the cameras one may watch as H.264 (shared with the single view) ----------------------------------------

export const passthrough = {
  cameras: null, // the cameras one may watch as H.264 (GET /api/cameras/live.fmp4), once known
  failed: new Set(), // cameras whose H.264 did not play in this page: JPEG from now on
  loading: null,
  load() {
    if (!this.loading) {
      this.loading = (mseSupported() ? api("GET", "/api/cameras/live.fmp4") : Promise.resolve({ cameras: [] }))
        .then((body) => { this.cameras = new Set(body.cameras); })
        .catch(() => { this.cameras = new Set(); })
        .finally(() => { this.loading = null; });
    }
    return this.loading;
  },
  has(cameraId) {
    return this.cameras !== null && this.cameras.has(cameraId) && !this.failed.has(cameraId);
  },
};

// --- JPEG tiles: sockets of /api/live/wall, at most SOCKET_MAX cameras each -----------------------------------

class WallSocket {
  constructor(onFrame, onError) {
    this.ws = null;
    this.wanted = [];
    this.onFrame = onFrame;
    this.onError = onError;
  }

  open() {
    if (this.ws && this.ws.readyState <= 1) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${scheme}://${location.host}/api/live/wall`);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("open", () => this.send());
    this.ws.addEventListener("message", (event) => this.received(event.data));
    this.ws.addEventListener("close", () => {
      if (this.wanted.length) setTimeout(() => { if (this.wanted.length) this.open(); }, 3000);
    });
  }

  watch(cameras) {
    this.wanted = cameras;
    this.open();
    this.send();
  }

  send() {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ cameras: this.wanted }));
  }

  received(data) {
    if (typeof data === "string") {
      const message = JSON.parse(data);
      this.onError(message.camera, message.error);
      return;
    }
    const bytes = new Uint8Array(data);
    const camera = new TextDecoder().decode(bytes.subarray(1, 1 + bytes[0]));
    this.onFrame(camera, bytes.subarray(1 + bytes[0]));
  }

  close() {
    this.wanted = [];
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}

// --- the layout shown in this page ----------------------------------------------------------------------------

function emptyTile() {
  return { camera: null, tour: [], pace_s: 10 };
}

function copyLayout(layout) {
  return {
    id: layout.id ?? null,
    name: layout.name || "",
    grid: layout.grid,
    tiles: layout.tiles.map((tile) => ({ camera: tile.camera ?? null, tour: [...(tile.tour || [])], pace_s: tile.pace_s || 10 })),
    alarm_tile: layout.alarm_tile ?? null,
    owner: layout.owner || "",
    editable: layout.editable ?? true,
    shared_roles: [...(layout.shared_roles || [])],
    auto: Boolean(layout.auto),
  };
}

function resized(tiles, grid) {
  const count = GRIDS[grid];
  const kept = tiles.filter((tile) => tile.camera || tile.tour.length).slice(0, count);
  while (kept.length < count) kept.push(emptyTile());
  return kept;
}

function autoLayout() {
  // Before the person chose anything: the first cameras they may see, in the smallest grid that holds them.
  const cameras = state.cameras.map((c) => c.id);
  const grid = cameras.length <= 1 ? "1" : cameras.length <= 4 ? "4" : cameras.length <= 9 ? "9" : "16";
  const tiles = cameras.slice(0, GRIDS[grid]).map((camera) => ({ camera, tour: [], pace_s: 10 }));
  while (tiles.length < GRIDS[grid]) tiles.push(emptyTile());
  return { id: null, name: "", grid, tiles, alarm_tile: null, owner: "", editable: true, shared_roles: [], auto: true };
}

const board = {
  mode: null, // "console" (the main window), "screen" (a detached window), "output" (a video-wall output)
  screen: 1,
  host: null, // the grid element
  layout: null,
  selected: null, // index of the selected tile, or null
  tourAt: new Map(), // tile index -> { k, at }: the camera of the tour shown and since when
  pausedTiles: new Set(),
  toursPaused: false,
  alarm: null, // { camera, tile } an alarm put in the alarm tile
  sensorShown: new Map(), // camera id -> { label, until }: cameras a sensor's link rule asked to show
  players: new Map(), // tile index -> { camera, player }: tiles playing H.264
  sockets: [],
  urls: new Map(), // camera id -> object URL of its newest JPEG
  ticker: null,
  saved: [],
  outputVersion: -1,
  outputTimer: null,
  channel: null,
  screens: new Map(), // (main window) screen number -> its layout, as it says it shows
  follow: false,
  followTimer: null,
};

function storageKey() {
  const who = (state.me && (state.me.username || state.me.display_name)) || "";
  return `vigie.layout.${who}.${board.screen}`;
}

function remember() {
  if (board.mode === "output" || !board.layout) return;
  try {
    localStorage.setItem(storageKey(), JSON.stringify(board.layout));
  } catch (err) {
    // a full or refused storage: the layout lives until the page closes
  }
}

function recalled() {
  try {
    const text = localStorage.getItem(storageKey());
    const layout = text && JSON.parse(text);
    if (layout && GRIDS[layout.grid] === (layout.tiles || []).length) return copyLayout(layout);
  } catch (err) {
    // unreadable: start afresh
  }
  return null;
}

// What each tile shows now: its camera or its tour's current one, then the sensors' cameras first (outlined) and
// an alarm in the alarm tile.
function shownCameras() {
  const layout = board.layout;
  const base = layout.tiles.map((tile, index) => {
    if (!tile.tour.length) return tile.camera;
    const at = board.tourAt.get(index) || { k: 0 };
    return tile.tour[at.k % tile.tour.length];
  });
  const now = Date.now();
  for (const [id, shown] of board.sensorShown) if (shown.until <= now) board.sensorShown.delete(id);
  let cameras = base;
  const bySensor = [...board.sensorShown.keys()].filter((id) => state.cameras.some((c) => c.id === id));
  if (bySensor.length && board.mode !== "output") {
    const rest = base.filter((camera) => !bySensor.includes(camera));
    cameras = [...bySensor, ...rest].slice(0, base.length);
  }
  if (board.alarm && layout.alarm_tile !== null && board.alarm.tile === layout.alarm_tile) {
    cameras = [...cameras];
    cameras[layout.alarm_tile] = board.alarm.camera;
  }
  return cameras;
}

function changed() {
  // the person changed the layout: no longer the automatic one; remembered, told to the other windows
  board.layout.auto = false;
  remember();
  draw();
  if (board.mode === "screen") post({ type: "changed", screen: board.screen, layout: board.layout });
  if (board.mode === "console" && board.follow) {
    clearTimeout(board.followTimer);
    board.followTimer = setTimeout(sendOutput, 300);
  }
}

// --- drawing --------------------------------------------------------------------------------------------------

function tileLabel(index, camera) {
  return camera ? t("layout.tile_camera", { n: index + 1, camera: cameraName(camera) }) : t("layout.tile_empty", { n: index + 1 });
}

function makeTile(index) {
  const picker = el("input", {
    class: "tile-picker", list: "layout-cameras", "aria-label": t("layout.pick", { n: index + 1 }),
    placeholder: t("layout.pick_placeholder"), autocomplete: "off",
  });
  const form = el("form", { class: "tile-empty" }, picker);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const camera = resolveCamera(picker.value);
    if (camera) place(index, camera);
    else status(t("layout.unknown_camera", { text: picker.value }));
  });
  picker.addEventListener("change", () => {
    const camera = resolveCamera(picker.value);
    if (camera) place(index, camera);
  });
  const button = (cls, key, onclick) => el("button", { type: "button", class: cls, text: t(key), title: t(key), "aria-label": t(key), onclick });
  const tools = el("div", { class: "tile-tools" },
    el("a", { class: "tile-open", text: t("layout.open"), title: t("layout.open") }),
    button("tile-full", "layout.full", () => fullScreen(index)),
    button("tile-tour", "layout.tour", () => editTour(index)),
    button("tile-pause", "layout.pause_tile", () => pauseTile(index)),
    button("tile-alarm", "layout.alarm_tile", () => toggleAlarmTile(index)),
    button("tile-clear", "layout.clear", () => clearTile(index)),
  );
  const tile = el("div", { class: "tile", tabindex: "0", role: "group", dataset: { index: String(index) } },
    el("img", { alt: "" }), el("video", { hidden: true }),
    el("span", { class: "tile-name" }), el("span", { class: "tile-state" }), form, tools);
  tile.addEventListener("click", (event) => {
    if (event.target.closest("button, a, input, form")) return;
    select(index);
  });
  tile.addEventListener("keydown", (event) => {
    if (event.target !== tile) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(index); }
    if (event.key === "Delete" || event.key === "Backspace") { event.preventDefault(); clearTile(index); }
  });
  // drop a camera (from the tree: "text/x-vigie-camera"), or another tile (its camera moves here, the two swap)
  tile.addEventListener("dragover", (event) => {
    const types = Array.from(event.dataTransfer.types);
    if (!types.includes("text/x-vigie-camera")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = types.includes("text/x-vigie-tile") ? "move" : "copy";
    tile.dataset.drop = "";
  });
  tile.addEventListener("dragleave", () => { delete tile.dataset.drop; });
  tile.addEventListener("drop", (event) => {
    event.preventDefault();
    delete tile.dataset.drop;
    const from = event.dataTransfer.getData("text/x-vigie-tile");
    const camera = event.dataTransfer.getData("text/x-vigie-camera");
    if (from !== "" && Number(from) !== index && board.layout.tiles[Number(from)]) swap(Number(from), index);
    else if (camera) place(index, camera);
  });
  tile.addEventListener("dragstart", (event) => {
    const camera = tile.dataset.camera;
    if (!camera) { event.preventDefault(); return; }
    event.dataTransfer.setData("text/x-vigie-camera", camera);
    event.dataTransfer.setData("text/plain", camera);
    event.dataTransfer.setData("text/x-vigie-tile", String(index));
    event.dataTransfer.effectAllowed = "copyMove";
  });
  return tile;
}

function draw() {
  const host = board.host;
  if (!host || !board.layout) return;
  const layout = board.layout;
  host.dataset.grid = layout.grid;
  while (host.children.length > layout.tiles.length) host.lastElementChild.remove();
  while (host.children.length < layout.tiles.length) host.append(makeTile(host.children.length));
  const cameras = shownCameras();
  const byId = new Map(state.cameras.map((c) => [c.id, c]));
  const controls = board.mode !== "output";
  cameras.forEach((camera, index) => {
    const tile = host.children[index];
    const spec = layout.tiles[index];
    const info = camera && byId.get(camera);
    if (camera) tile.dataset.camera = camera;
    else delete tile.dataset.camera;
    tile.draggable = Boolean(camera) && controls;
    tile.setAttribute("aria-label", tileLabel(index, camera));
    tile.toggleAttribute("data-selected", board.selected === index && controls);
    tile.toggleAttribute("data-alarm-tile", layout.alarm_tile === index && controls);
    tile.toggleAttribute("data-alarm", Boolean(board.alarm && layout.alarm_tile === index && board.alarm.camera === camera));
    tile.toggleAttribute("data-tour", spec.tour.length > 0);
    tile.toggleAttribute("data-paused", spec.tour.length > 0 && (board.toursPaused || board.pausedTiles.has(index)));
    const bySensor = camera && board.sensorShown.get(camera);
    tile.classList.toggle("tile-sensor", Boolean(bySensor));
    tile.title = bySensor ? bySensor.label : "";
    tile.querySelector("img").alt = camera ? (info ? info.name : camera) : "";
    tile.querySelector("video").setAttribute("aria-label", camera ? (info ? info.name : camera) : "");
    const name = tile.querySelector(".tile-name");
    name.textContent = camera ? (info ? info.name : camera) : "";
    if (spec.tour.length) name.textContent += ` · ${t("layout.tour_of", { k: ((board.tourAt.get(index) || { k: 0 }).k % spec.tour.length) + 1, n: spec.tour.length })}`;
    const badge = tile.querySelector(".tile-state");
    badge.textContent = info ? t(`state.${info.state}`) : "";
    badge.className = info ? `tile-state state-${info.state}` : "tile-state";
    const open = tile.querySelector(".tile-open");
    open.hidden = !camera;
    if (camera) open.href = `#/live/${encodeURIComponent(camera)}`;
    tile.querySelector(".tile-empty").hidden = Boolean(camera) || !controls;
    tile.querySelector(".tile-tools").hidden = !controls;
    tile.querySelector(".tile-clear").hidden = !camera && !spec.tour.length;
    tile.querySelector(".tile-full").hidden = !camera;
    const pause = tile.querySelector(".tile-pause");
    pause.hidden = !spec.tour.length;
    const paused = board.pausedTiles.has(index);
    pause.textContent = t(paused ? "layout.resume_tile" : "layout.pause_tile");
    pause.setAttribute("aria-pressed", String(paused));
    tile.querySelector(".tile-alarm").setAttribute("aria-pressed", String(layout.alarm_tile === index));
  });
  play(cameras);
  drawBar();
}

// --- players --------------------------------------------------------------------------------------------------

function play(cameras) {
  if (passthrough.cameras === null) {
    passthrough.load().then(() => { if (board.host) draw(); });
    return;
  }
  const host = board.host;
  for (const [index, playing] of board.players) {
    if (cameras[index] !== playing.camera || !passthrough.has(playing.camera)) {
      playing.player.stop();
      board.players.delete(index);
    }
  }
  cameras.forEach((camera, index) => {
    if (!camera || !passthrough.has(camera) || board.players.has(index)) return;
    const tile = host.children[index];
    const player = new MsePlayer(tile.querySelector("video"), camera, "wall", {
      onFallback: () => {
        passthrough.failed.add(camera);
        board.players.delete(index);
        if (board.host) draw();
      },
      onError: (message) => { tile.querySelector(".tile-state").textContent = message; },
    }).start();
    board.players.set(index, { camera, player });
  });
  cameras.forEach((camera, index) => {
    const tile = host.children[index];
    const mse = board.players.has(index);
    tile.querySelector("video").hidden = !mse;
    const img = tile.querySelector("img");
    img.hidden = mse || !camera;
    if (!camera || mse) stopImage(img);
    else if (board.urls.has(camera) && img.src !== board.urls.get(camera)) img.src = board.urls.get(camera);
  });
  const jpeg = [...new Set(cameras.filter((camera, index) => camera && !board.players.has(index)))];
  const chunks = [];
  for (let i = 0; i < jpeg.length; i += SOCKET_MAX) chunks.push(jpeg.slice(i, i + SOCKET_MAX));
  while (board.sockets.length > chunks.length) board.sockets.pop().close();
  while (board.sockets.length < chunks.length) board.sockets.push(new WallSocket(frame, tileError));
  chunks.forEach((chunk, i) => {
    if (chunk.join() !== board.sockets[i].wanted.join()) board.sockets[i].watch(chunk);
  });
  for (const [camera, url] of board.urls) {
    if (!jpeg.includes(camera)) { URL.revokeObjectURL(url); board.urls.delete(camera); }
  }
}

function tilesOf(camera) {
  if (!board.host) return [];
  return Array.from(board.host.children).filter((tile) => tile.dataset.camera === camera);
}

function frame(camera, jpeg) {
  const tiles = tilesOf(camera).filter((tile) => !board.players.has(Number(tile.dataset.index)));
  if (!tiles.length) return;
  const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
  const previous = board.urls.get(camera);
  board.urls.set(camera, url);
  for (const tile of tiles) tile.querySelector("img").src = url;
  if (previous) URL.revokeObjectURL(previous);
}

function tileError(camera, message) {
  const tiles = camera ? tilesOf(camera) : [];
  for (const tile of tiles) tile.querySelector(".tile-state").textContent = message;
  if (!tiles.length) status(message);
}

function stopImage(img) {
  if (img.getAttribute("src")) {
    img.removeAttribute("src");
  }
}

function stopPlayers() {
  for (const socket of board.sockets) socket.close();
  board.sockets = [];
  for (const { player } of board.players.values()) player.stop();
  board.players.clear();
  for (const url of board.urls.values()) URL.revokeObjectURL(url);
  board.urls.clear();
}

// --- tile actions ---------------------------------------------------------------------------------------------

function resolveCamera(text) {
  const value = text.trim();
  if (!value) return null;
  const lower = value.toLowerCase();
  const found = state.cameras.find((c) => c.id === value)
    || state.cameras.find((c) => c.name.toLowerCase() === lower || `${c.name} (${c.id})`.toLowerCase() === lower);
  return found ? found.id : null;
}

function select(index) {
  board.selected = index;
  draw();
  const tile = board.host && board.host.children[index];
  if (tile && document.activeElement !== tile && !tile.contains(document.activeElement)) tile.focus();
}

function place(index, camera) {
  if (!board.layout || !board.layout.tiles[index]) return;
  board.layout.tiles[index] = { camera, tour: [], pace_s: 10 };
  board.tourAt.delete(index);
  if (board.alarm && board.alarm.tile === index) board.alarm = null;
  changed();
  status(t("layout.placed", { camera: cameraName(camera), n: index + 1 }));
}

function swap(from, to) {
  const tiles = board.layout.tiles;
  [tiles[from], tiles[to]] = [tiles[to], tiles[from]];
  board.tourAt.delete(from);
  board.tourAt.delete(to);
  board.selected = to;
  changed();
}

function clearTile(index) {
  board.layout.tiles[index] = emptyTile();
  board.tourAt.delete(index);
  board.pausedTiles.delete(index);
  if (board.alarm && board.alarm.tile === index) board.alarm = null;
  changed();
}

function targetTile() {
  // the selected tile, or the first empty one, or the first
  if (board.selected !== null && board.layout.tiles[board.selected]) return board.selected;
  const cameras = shownCameras();
  const empty = cameras.findIndex((camera) => !camera);
  return empty >= 0 ? empty : 0;
}

function fullScreen(index) {
  const tile = board.host && board.host.children[index];
  if (!tile || !tile.requestFullscreen) return;
  tile.requestFullscreen().catch((err) => status(t("layout.no_full", { message: err.message })));
}

function toggleAlarmTile(index) {
  board.layout.alarm_tile = board.layout.alarm_tile === index ? null : index;
  changed();
}

function pauseTile(index) {
  if (board.pausedTiles.has(index)) board.pausedTiles.delete(index);
  else board.pausedTiles.add(index);
  draw();
}

function tick() {
  if (!board.layout || board.toursPaused) return;
  const now = Date.now();
  let moved = false;
  board.layout.tiles.forEach((tile, index) => {
    if (!tile.tour.length || board.pausedTiles.has(index)) return;
    const at = board.tourAt.get(index);
    if (!at) { board.tourAt.set(index, { k: 0, at: now }); return; }
    if (now - at.at >= tile.pace_s * 1000) {
      board.tourAt.set(index, { k: (at.k + 1) % tile.tour.length, at: now });
      moved = true;
    }
  });
  if (moved || board.sensorShown.size) draw();
}

// --- the tour dialog ------------------------------------------------------------------------------------------

function editTour(index) {
  // index: a tile's, or "all": the whole layout pages through the cameras chosen, every tile at once
  const dialog = document.getElementById("layout-tour");
  const list = dialog.querySelector("select");
  const spec = index === "all" ? { camera: null, tour: [], pace_s: 10 } : board.layout.tiles[index];
  list.replaceChildren(...state.cameras.map((c) => {
    const option = el("option", { value: c.id, text: `${c.name} (${c.id})` });
    option.selected = spec.tour.includes(c.id) || (!spec.tour.length && spec.camera === c.id);
    return option;
  }));
  dialog.querySelector("input").value = String(spec.pace_s || 10);
  dialog.querySelector(".layout-error").textContent = "";
  dialog.dataset.index = String(index);
  dialog.showModal();
}

function tourChosen(event) {
  event.preventDefault();
  const dialog = document.getElementById("layout-tour");
  const index = dialog.dataset.index === "all" ? "all" : Number(dialog.dataset.index);
  const cameras = Array.from(dialog.querySelector("select").selectedOptions).map((o) => o.value);
  const pace = Number(dialog.querySelector("input").value);
  const error = dialog.querySelector(".layout-error");
  if (cameras.length < 2) { error.textContent = t("layout.tour_two"); return; }
  if (!(pace >= 2 && pace <= 3600)) { error.textContent = t("layout.tour_pace"); return; }
  const now = Date.now();
  if (index === "all") {
    // tile i shows cameras i, i + n, i + 2n… of the list: the layout turns its pages together
    const count = board.layout.tiles.length;
    board.layout.tiles = board.layout.tiles.map((_, i) => {
      const group = cameras.filter((__, j) => j % count === i);
      return group.length >= 2 ? { camera: null, tour: group, pace_s: Math.round(pace) } : { camera: group[0] || null, tour: [], pace_s: 10 };
    });
    board.tourAt.clear();
    board.layout.tiles.forEach((tile, i) => { if (tile.tour.length) board.tourAt.set(i, { k: 0, at: now }); });
  } else {
    board.layout.tiles[index] = { camera: null, tour: cameras, pace_s: Math.round(pace) };
    board.tourAt.set(index, { k: 0, at: now });
  }
  dialog.close();
  changed();
}

// --- saved layouts --------------------------------------------------------------------------------------------

async function loadSaved() {
  try {
    const body = await api("GET", "/api/layouts");
    board.saved = body.items;
  } catch (err) {
    failed(err);
  }
  drawBar();
}

function body() {
  const layout = board.layout;
  return {
    name: document.getElementById("layout-name").value.trim() || layout.name || t("layout.untitled"),
    grid: layout.grid,
    tiles: layout.tiles.map((tile) => ({ camera: tile.tour.length ? null : tile.camera, tour: tile.tour, pace_s: tile.pace_s })),
    alarm_tile: layout.alarm_tile,
  };
}

async function save(asNew) {
  const note = document.getElementById("layout-note");
  try {
    const editing = board.layout.id && board.layout.editable && !asNew;
    const stored = editing
      ? await api("PUT", `/api/layouts/${board.layout.id}`, body())
      : await api("POST", "/api/layouts", body());
    board.layout = copyLayout(stored);
    remember();
    note.textContent = t("layout.saved", { name: stored.name });
    await loadSaved();
    if (board.mode === "screen") post({ type: "changed", screen: board.screen, layout: board.layout });
    draw();
  } catch (err) {
    note.textContent = t("layout.save_failed", { message: err.message });
  }
}

async function remove() {
  if (!board.layout.id || !confirm(t("layout.delete_confirm", { name: board.layout.name }))) return;
  try {
    await api("DELETE", `/api/layouts/${board.layout.id}`);
    board.layout.id = null;
    board.layout.name = "";
    remember();
    await loadSaved();
  } catch (err) {
    document.getElementById("layout-note").textContent = err.message;
  }
}

function openShare() {
  const dialog = document.getElementById("layout-share-dialog");
  for (const box of dialog.querySelectorAll("input[type=checkbox]")) box.checked = board.layout.shared_roles.includes(box.value);
  dialog.querySelector(".layout-error").textContent = "";
  dialog.showModal();
}

async function share(event) {
  event.preventDefault();
  const dialog = document.getElementById("layout-share-dialog");
  const roles = Array.from(dialog.querySelectorAll("input[type=checkbox]:checked")).map((box) => box.value);
  try {
    const stored = await api("PUT", `/api/layouts/${board.layout.id}/share`, { roles });
    board.layout.shared_roles = stored.shared_roles;
    remember();
    dialog.close();
    document.getElementById("layout-note").textContent = roles.length
      ? t("layout.shared", { name: stored.name, roles: roles.map((r) => t(`layout.role.${r}`)).join(", ") })
      : t("layout.unshared", { name: stored.name });
    await loadSaved();
  } catch (err) {
    dialog.querySelector(".layout-error").textContent = err.message;
  }
}

function choose(id) {
  if (!id) {
    board.layout = autoLayout();
    board.layout.auto = false;
    board.layout.tiles = board.layout.tiles.map(() => emptyTile());
  } else {
    const found = board.saved.find((layout) => String(layout.id) === id);
    if (!found) return;
    board.layout = copyLayout(found);
  }
  board.tourAt.clear();
  board.pausedTiles.clear();
  board.alarm = null;
  board.selected = null;
  changed();
}

function gridLabel(grid) {
  const [large, small] = grid.split("+");
  if (small) return t("layout.grid_large", { large, small });
  return t("layout.grid_square", { n: grid, side: Math.sqrt(Number(grid)) });
}

// --- the toolbar ----------------------------------------------------------------------------------------------

function buildBar() {
  // built once per language (the console's language can change while it runs)
  const bar = document.getElementById("layout-bar");
  if (bar.dataset.built === language()) return;
  bar.dataset.built = language();
  bar.replaceChildren();
  if (board.host) { stopPlayers(); board.host.replaceChildren(); } // the tiles' controls are labelled in the language too
  const grid = el("select", { id: "layout-grid", "aria-label": t("layout.grid") },
    ...Object.keys(GRIDS).map((g) => el("option", { value: g, text: gridLabel(g) })));
  grid.addEventListener("change", () => {
    board.layout.tiles = resized(board.layout.tiles, grid.value);
    board.layout.grid = grid.value;
    if (board.layout.alarm_tile !== null && board.layout.alarm_tile >= GRIDS[grid.value]) board.layout.alarm_tile = null;
    board.selected = null;
    board.tourAt.clear();
    changed();
  });
  const saved = el("select", { id: "layout-saved", "aria-label": t("layout.saved_layouts") });
  saved.addEventListener("change", () => choose(saved.value));
  const button = (id, key, onclick) => el("button", { type: "button", id, text: t(key), onclick });
  const output = el("input", { id: "layout-output", list: "layout-outputs", maxlength: "64", placeholder: "salle-1", "aria-label": t("layout.output_name") });
  const follow = el("input", { type: "checkbox", id: "layout-output-follow" });
  follow.addEventListener("change", () => { board.follow = follow.checked; if (follow.checked) sendOutput(); });
  bar.append(
    el("label", {}, el("span", { text: t("layout.grid") }), " ", grid),
    el("label", {}, el("span", { text: t("layout.saved_layouts") }), " ", saved),
    el("label", {}, el("span", { text: t("layout.name") }), " ", el("input", { id: "layout-name", maxlength: "80", size: "16" })),
    button("layout-save", "layout.save", () => save(false)),
    button("layout-save-new", "layout.save_new", () => save(true)),
    button("layout-share", "layout.share", openShare),
    button("layout-delete", "layout.delete", remove),
    button("layout-tour-all", "layout.tour_all", () => editTour("all")),
    button("layout-pause", "layout.pause_all", () => { board.toursPaused = !board.toursPaused; draw(); }),
    el("span", { class: "layout-console-only" },
      button("layout-window", "layout.new_window", openScreen),
      el("label", {}, el("span", { text: t("layout.output") }), " ", output),
      button("layout-send-output", "layout.send_output", sendOutput),
      el("label", {}, follow, " ", el("span", { text: t("layout.follow") }))),
    el("datalist", { id: "layout-outputs" }),
  );
  const shareDialog = document.getElementById("layout-share-dialog");
  const fieldset = shareDialog.querySelector("fieldset");
  fieldset.replaceChildren(fieldset.querySelector("legend"),
    ...SHARE_ROLES.map((role) => el("label", {}, el("input", { type: "checkbox", value: role, name: "role" }), " ", el("span", { text: t(`layout.role.${role}`) }))));
  if (shareDialog.dataset.ready) return;
  shareDialog.dataset.ready = "1";
  shareDialog.querySelector("form").addEventListener("submit", share);
  document.getElementById("layout-tour").querySelector("form").addEventListener("submit", tourChosen);
  for (const cancel of document.querySelectorAll(".layout-dialog .layout-cancel")) {
    cancel.addEventListener("click", () => cancel.closest("dialog").close());
  }
}

function drawSaved(saved) {
  const mine = board.saved.filter((l) => l.mine);
  const shared = board.saved.filter((l) => !l.mine);
  const option = (l) => el("option", { value: String(l.id), text: l.mine ? l.name : `${l.name} — ${l.owner}` });
  saved.replaceChildren(
    el("option", { value: "", text: t("layout.unsaved") }),
    mine.length ? el("optgroup", { label: t("layout.mine") }, ...mine.map(option)) : null,
    shared.length ? el("optgroup", { label: t("layout.shared_with_me") }, ...shared.map(option)) : null,
  );
}

function drawBar() {
  if (!board.layout || board.mode === "output") return;
  const layout = board.layout;
  document.getElementById("layout-grid").value = layout.grid;
  const saved = document.getElementById("layout-saved");
  const listed = JSON.stringify(board.saved.map((l) => [l.id, l.name, l.owner, l.mine]));
  if (saved.dataset.listed !== listed) {
    saved.dataset.listed = listed;
    drawSaved(saved);
  }
  saved.value = layout.id ? String(layout.id) : "";
  const name = document.getElementById("layout-name");
  if (document.activeElement !== name) name.value = layout.name || "";
  document.getElementById("layout-share").hidden = !layout.id || !layout.editable;
  document.getElementById("layout-delete").hidden = !layout.id || !layout.editable;
  document.getElementById("layout-save-new").hidden = !layout.id;
  document.getElementById("layout-save").textContent = t(layout.id && layout.editable ? "layout.save" : "layout.save_as");
  const touring = layout.tiles.some((tile) => tile.tour.length);
  const pause = document.getElementById("layout-pause");
  pause.hidden = !touring;
  pause.textContent = t(board.toursPaused ? "layout.resume_all" : "layout.pause_all");
  pause.setAttribute("aria-pressed", String(board.toursPaused));
  for (const part of document.querySelectorAll(".layout-console-only")) part.hidden = board.mode !== "console";
  const list = document.getElementById("layout-cameras");
  if (list.dataset.count !== String(state.cameras.length) || list.dataset.first !== (state.cameras[0] || {}).id) {
    list.dataset.count = String(state.cameras.length);
    list.dataset.first = (state.cameras[0] || {}).id || "";
    list.replaceChildren(...state.cameras.map((c) => el("option", { value: c.id, label: c.name })));
  }
  drawScreens();
}

// --- several monitors: detached windows ------------------------------------------------------------------------

function post(message) {
  if (board.channel) board.channel.postMessage(message);
}

function openChannel() {
  if (board.channel || typeof BroadcastChannel === "undefined") return;
  board.channel = new BroadcastChannel(CHANNEL);
  board.channel.addEventListener("message", (event) => received(event.data));
}

function received(message) {
  if (!message || typeof message !== "object") return;
  if (board.mode === "screen") {
    if (message.screen !== board.screen) return;
    if (message.type === "show" && message.layout) {
      board.layout = copyLayout(message.layout);
      board.tourAt.clear();
      remember();
      draw();
    } else if (message.type === "close") {
      window.close();
    }
    return;
  }
  if (board.mode === "console" || board.mode === null) {
    // the main window keeps what each screen shows, even while another view is shown
    if (message.type === "hello") {
      const layout = board.screens.get(message.screen) || message.layout;
      if (layout) {
        board.screens.set(message.screen, copyLayout(layout));
        post({ type: "show", screen: message.screen, layout });
      }
    } else if (message.type === "changed" && message.layout) {
      board.screens.set(message.screen, copyLayout(message.layout));
    } else if (message.type === "bye") {
      board.screens.delete(message.screen);
    }
    if (board.mode === "console") drawScreens();
  }
}

function openScreen() {
  let screen = 2;
  while (board.screens.has(screen)) screen += 1;
  const layout = copyLayout(board.layout);
  layout.auto = false;
  board.screens.set(screen, layout);
  window.open(`${location.pathname}#/live?screen=${screen}`, `vigie-screen-${screen}`, "popup,width=1280,height=760");
  drawScreens();
}

function drawScreens() {
  const list = document.getElementById("layout-screens");
  if (!list) return;
  list.hidden = board.mode !== "console" || !board.screens.size;
  list.replaceChildren(...[...board.screens.entries()].sort((a, b) => a[0] - b[0]).map(([screen, layout]) => {
    const cameras = layout.tiles.map((tile) => tile.tour.length ? tile.tour.map(cameraName).join(" › ") : tile.camera && cameraName(tile.camera)).filter(Boolean);
    return el("li", { dataset: { screen: String(screen) } },
      el("span", { class: "screen-name", text: t("layout.screen", { n: screen }) }), " ",
      el("span", { class: "screen-cameras", text: cameras.length ? cameras.join(", ") : t("layout.screen_empty") }), " ",
      el("button", { type: "button", class: "screen-send", text: t("layout.send_screen"), onclick: () => {
        const sent = copyLayout(board.layout);
        board.screens.set(screen, sent);
        post({ type: "show", screen, layout: sent });
        drawScreens();
      } }),
      el("button", { type: "button", class: "screen-close", text: t("layout.close_screen"), onclick: () => {
        post({ type: "close", screen });
        board.screens.delete(screen);
        drawScreens();
      } }));
  }));
}

// --- the video-wall output -------------------------------------------------------------------------------------

async function sendOutput() {
  const name = document.getElementById("layout-output").value.trim();
  const note = document.getElementById("layout-note");
  if (!name) { note.textContent = t("layout.output_missing"); return; }
  try {
    const layout = board.layout;
    const shown = await api("PUT", `/api/wall-outputs/${encodeURIComponent(name)}`, {
      grid: layout.grid,
      tiles: layout.tiles.map((tile) => ({ camera: tile.tour.length ? null : tile.camera, tour: tile.tour, pace_s: tile.pace_s })),
    });
    note.textContent = t("layout.output_sent", { name: shown.name });
  } catch (err) {
    note.textContent = t("layout.output_failed", { message: err.message });
  }
}

async function loadOutputs() {
  try {
    const body = await api("GET", "/api/wall-outputs");
    document.getElementById("layout-outputs").replaceChildren(...body.items.map((o) => el("option", { value: o.name })));
  } catch (err) {
    // no outputs yet, or none offered: the field still takes a name
  }
}

async function pollOutput(name) {
  try {
    const output = await api("GET", `/api/wall-outputs/${encodeURIComponent(name)}`);
    if (board.mode !== "output") return;
    if (output.version !== board.outputVersion) {
      board.outputVersion = output.version;
      board.layout = copyLayout({ ...output, alarm_tile: null });
      board.tourAt.clear();
      draw();
    }
  } catch (err) {
    failed(err);
  }
}

// --- shown, hidden, and the console's events --------------------------------------------------------------------

function start(mode, host) {
  board.mode = mode;
  board.host = host;
  if (!board.ticker) board.ticker = setInterval(tick, 500);
  passthrough.cameras = null; // asked again each time the layout is shown
}

function stop() {
  stopPlayers();
  if (board.ticker) clearInterval(board.ticker);
  board.ticker = null;
  if (board.outputTimer) clearInterval(board.outputTimer);
  board.outputTimer = null;
  if (board.host) board.host.replaceChildren();
  board.host = null;
  board.mode = board.screen === 1 ? null : board.mode;
  delete document.body.dataset.chrome;
}

export const layouts = {
  show(query) {
    const screen = Number((query && query.get("screen")) || 1);
    board.screen = Number.isInteger(screen) && screen >= 1 && screen <= 16 ? screen : 1;
    start(board.screen === 1 ? "console" : "screen", document.getElementById("wall"));
    buildBar();
    if (board.screen !== 1) document.body.dataset.chrome = "screen";
    openChannel();
    board.layout = board.layout || recalled() || autoLayout();
    if (board.layout.auto) board.layout = autoLayout();
    draw();
    loadSaved();
    if (board.mode === "console") loadOutputs();
    if (board.mode === "screen") {
      post({ type: "hello", screen: board.screen, layout: board.layout });
      window.addEventListener("pagehide", () => post({ type: "bye", screen: board.screen }), { once: true });
    }
  },
  hide() {
    stop();
  },
  onCameras() {
    if (!board.host) return;
    if (board.layout && board.layout.auto) board.layout = autoLayout();
    draw();
  },
  onSensor(link) {
    const label = t("sensors.wall", { sensor: link.sensor, label: link.label });
    for (const camera of link.cameras) board.sensorShown.set(camera, { label, until: Date.now() + SENSOR_SHOW_MS });
    if (board.host) draw();
  },
  active() {
    return Boolean(board.host) && (board.mode === "console" || board.mode === "screen");
  },
};

// The wall output: #/wall-output/<name>, tiles only (no header, no menu), for a wall controller's browser.
export const wallOutput = {
  allowed: () => can("view_live"),
  enter(args) {
    const name = args[0] || "";
    stop();
    document.body.dataset.chrome = "none";
    start("output", document.getElementById("wall-output"));
    board.outputVersion = -1;
    board.layout = { id: null, name: "", grid: "1", tiles: [emptyTile()], alarm_tile: null, shared_roles: [], auto: false };
    document.getElementById("wall-output-name").textContent = name;
    draw();
    if (!name) return;
    pollOutput(name);
    board.outputTimer = setInterval(() => pollOutput(name), OUTPUT_POLL_MS);
  },
  refresh() {
    if (board.mode === "output") draw();
  },
  onCameras() {
    if (board.mode === "output") draw();
  },
  leave() {
    stop();
    board.layout = null;
  },
};

window.addEventListener("vigie:open-camera", (event) => {
  // the tree (or the map) asks to open a camera: into the selected tile, or the first empty one
  if (!layouts.active() || !event.detail || !event.detail.camera) return;
  if (!document.getElementById("wall-view") || document.getElementById("wall-view").hidden) return;
  event.preventDefault();
  place(targetTile(), event.detail.camera);
});

window.addEventListener("vigie:alarm-camera", (event) => {
  // an alarm's camera: into the alarm tile the operator designated, outlined, and said
  if (!layouts.active() || !event.detail || !event.detail.camera) return;
  const index = board.layout.alarm_tile;
  if (index === null || index === undefined) return;
  board.alarm = { camera: event.detail.camera, tile: index };
  draw();
  status(t("layout.alarm_shown", { camera: cameraName(event.detail.camera), n: index + 1 }));
});

// Several monitors: the main window answers the detached ones even while it shows another view.
openChannel();

const onWall = () => layouts.active() && !document.getElementById("wall-view").hidden;
shortcut(["n"], "layout.key_next", () => {
  const count = board.layout.tiles.length;
  select(board.selected === null ? 0 : (board.selected + 1) % count);
}, { when: onWall, group: "layout.keys" });
shortcut(["f"], "layout.key_full", () => fullScreen(board.selected === null ? 0 : board.selected), { when: onWall, group: "layout.keys" });
shortcut(["Escape"], "layout.key_leave_full", () => document.exitFullscreen(), { when: () => Boolean(document.fullscreenElement), group: "layout.keys" });
