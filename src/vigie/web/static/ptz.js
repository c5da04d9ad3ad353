// Driving a dome from the single view (issue 19): a joystick (press and hold, or the arrow keys while the picture
// has the focus), zoom, speed, home, presets, tours, and who holds the dome. Shown only when the camera is a dome
// Vigie drives (listed by GET /api/cameras/ptz) and the person may control domes; every command is audited by the
// server (ptz.moved), the GET that refreshes the panel is not.
//
// A continuous move is a velocity with a short timeout, renewed while the button or key is held, and a stop on
// release: a release the page never sees (a lost connection, a closed tab) leaves the dome still within about a
// second, never spinning. Commands go out one after the other (a stop never overtakes the move it ends).
//
// "Follow": the operator draws a box on the picture and the dome follows what it holds (POST …/ptz/track, the
// analysis module ptz_autotracking: refused with the server's words without an activation covering the dome). The
// panel says whether a target is followed and why the last session ended; "Stop following" ends it (DELETE), and any
// move of the joystick ends it too (the server gives the dome to the person at once).

import { api, can, el, failed, NotLoggedIn, state, status } from "./app.js";
import { has, language, t } from "./i18n.js";
import { combo, shortcut } from "./keys.js";

const MOVE_TIMEOUT_S = 1.2; // the dome stops by itself this long after the last renewal
const RENEW_MS = 700; // renewed well inside the timeout, with room for a slow answer
const REFRESH_MS = 3000; // who holds the dome, where it is, the tour running
const DIRECTIONS = [
  // [name, pan, tilt, arrow shown]; null: the home button in the middle
  ["up_left", -1, 1, "↖"], ["up", 0, 1, "↑"], ["up_right", 1, 1, "↗"],
  ["left", -1, 0, "←"], null, ["right", 1, 0, "→"],
  ["down_left", -1, -1, "↙"], ["down", 0, -1, "↓"], ["down_right", 1, -1, "↘"],
];
const KEYS = { ArrowLeft: [-1, 0, 0], ArrowRight: [1, 0, 0], ArrowUp: [0, 1, 0], ArrowDown: [0, -1, 0], "+": [0, 0, 1], "-": [0, 0, -1] };

const dome = {
  camera: null, // the camera shown, while its panel is (being) shown
  view: null, // the last GET …/ptz
  timer: null,
  held: null, // the velocity held {pan, tilt, zoom} (unit directions), or null
  renew: null,
  moved: false, // a move was sent since the last stop
  queue: Promise.resolve(),
  keys: new Set(),
  unreachable: false, // the last look found the dome not answering
  drawing: null, // follow mode: {layer, start, box} while the operator draws the target's box
};

const panel = () => document.getElementById("ptz");
const path = (camera, suffix = "") => `/api/cameras/${encodeURIComponent(camera)}/ptz${suffix}`;

function labels() {
  return {
    up_left: t("ptz.up_left"), up: t("ptz.up"), up_right: t("ptz.up_right"), left: t("ptz.left"),
    right: t("ptz.right"), down_left: t("ptz.down_left"), down: t("ptz.down"), down_right: t("ptz.down_right"),
    zoom_in: t("ptz.zoom_in"), zoom_out: t("ptz.zoom_out"),
  };
}

function say(message, cls = "error") {
  const note = document.getElementById("ptz-message");
  if (!note) return;
  note.textContent = message;
  note.className = cls;
}

function refused(err) {
  // The server's own words: who holds the dome and until when (409), the dome not answering (503), a bad value (422).
  if (err instanceof NotLoggedIn) failed(err);
  else if (err.status === 409) say(t("ptz.locked", { message: err.message }));
  else if (err.status === 503) say(t("ptz.unreachable", { message: err.message }));
  else say(err.message);
}

function send(method, suffix, body, done) {
  // One command at a time, in order (a stop sent as the view is left still goes out).
  const camera = dome.camera;
  dome.queue = dome.queue.then(async () => {
    try {
      await api(method, path(camera, suffix), body);
      say("", "note");
      if (done) done();
    } catch (err) {
      refused(err);
      stopHolding(false);
    }
  });
  return dome.queue;
}

function speed() {
  return Number(document.getElementById("ptz-speed").value);
}

function velocity(direction) {
  const s = speed();
  const round = (v) => Math.round(v * s * 1000) / 1000;
  return { pan: round(direction.pan), tilt: round(direction.tilt), zoom: round(direction.zoom) };
}

function hold(direction) {
  // Pressing (or a key combination changing) starts the move at once, then renews it while held.
  dome.held = direction;
  dome.moved = true;
  clearInterval(dome.renew);
  const move = () => send("POST", "/move", { kind: "continuous", vector: velocity(dome.held), timeout_s: MOVE_TIMEOUT_S });
  move();
  let pending = false;
  dome.renew = setInterval(() => {
    if (!dome.held || pending) return; // never pile renewals behind a slow answer
    pending = true;
    move().finally(() => { pending = false; });
  }, RENEW_MS);
}

function stopHolding(sendStop = true) {
  clearInterval(dome.renew);
  dome.renew = null;
  dome.held = null;
  dome.keys.clear();
  for (const button of document.querySelectorAll("#ptz .held")) button.classList.remove("held");
  if (sendStop && dome.moved) send("POST", "/stop", undefined, () => refreshSoon());
  dome.moved = false;
}

function holdButton(name, label, arrow, direction) {
  const button = el("button", { type: "button", class: "ptz-hold", "aria-label": label, title: label, text: arrow, dataset: { ptz: name } });
  const press = (event) => {
    if (event.button !== undefined && event.button !== 0) return;
    event.preventDefault();
    button.setPointerCapture?.(event.pointerId);
    button.classList.add("held");
    hold(direction);
  };
  const release = () => { if (button.classList.contains("held")) stopHolding(); };
  button.addEventListener("pointerdown", press);
  button.addEventListener("pointerup", release);
  button.addEventListener("pointercancel", release);
  button.addEventListener("lostpointercapture", release);
  // The keyboard on a focused button: Space or Enter held moves, released stops.
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      button.classList.add("held");
      hold(direction);
    }
  });
  button.addEventListener("keyup", (event) => { if (event.key === " " || event.key === "Enter") release(); });
  return button;
}

function keyDirection() {
  const sum = { pan: 0, tilt: 0, zoom: 0 };
  for (const key of dome.keys) {
    const [pan, tilt, zoom] = KEYS[key];
    sum.pan += pan; sum.tilt += tilt; sum.zoom += zoom;
  }
  return sum.pan || sum.tilt || sum.zoom ? sum : null;
}

function onKey(event) {
  // The arrows (and + / −) while the picture has the focus; auto-repeat is ignored: the renewal does that.
  if (event.key === "Escape" && dome.drawing) { stopDrawing(); say("", "note"); return; }
  if (!(event.key in KEYS) || !dome.camera || panel().hidden) return;
  event.preventDefault();
  const down = event.type === "keydown";
  if (down && (event.repeat || dome.keys.has(event.key))) return;
  if (down) dome.keys.add(event.key);
  else dome.keys.delete(event.key);
  const direction = keyDirection();
  if (direction) hold(direction);
  else stopHolding();
}

function build() {
  const words = labels();
  const pad = el("div", { class: "ptz-pad", role: "group", "aria-label": t("ptz.joystick") });
  for (const entry of DIRECTIONS) {
    if (entry === null) {
      pad.append(el("button", { type: "button", id: "ptz-home", title: t("ptz.home"), text: "⌂", "aria-label": t("ptz.home"), onclick: () => send("POST", "/home", undefined, () => refreshSoon()) }));
    } else {
      const [name, pan, tilt, arrow] = entry;
      pad.append(holdButton(name, words[name], arrow, { pan, tilt, zoom: 0 }));
    }
  }
  const zoom = el("div", { class: "ptz-zoom", role: "group", "aria-label": t("ptz.zoom") },
    holdButton("zoom_in", words.zoom_in, "+", { pan: 0, tilt: 0, zoom: 1 }),
    holdButton("zoom_out", words.zoom_out, "−", { pan: 0, tilt: 0, zoom: -1 }));
  const slider = el("label", { class: "ptz-speed" }, el("span", { text: t("ptz.speed") }),
    el("input", { id: "ptz-speed", type: "range", min: "0.1", max: "1", step: "0.05", value: "0.5" }));
  const store = el("form", { id: "ptz-store", class: "inline-form", hidden: !can("manage_ptz") },
    el("label", {}, el("span", { text: t("ptz.preset_name") }), el("input", { id: "ptz-preset-name", required: true, maxlength: "64" })),
    el("button", { type: "submit", id: "ptz-store-button", text: t("ptz.store") }));
  store.addEventListener("submit", storePreset);
  const tour = el("form", { id: "ptz-tour-form", class: "inline-form" },
    el("fieldset", { id: "ptz-tour-presets", class: "roles" }, el("legend", { text: t("ptz.tour_presets") })),
    el("label", {}, el("span", { text: t("ptz.dwell") }), el("input", { id: "ptz-dwell", type: "number", min: "2", max: "3600", step: "1", value: "10", required: true })),
    el("button", { type: "submit", id: "ptz-tour-start", text: t("ptz.tour_start") }));
  tour.addEventListener("submit", startTour);
  panel().replaceChildren(
    el("h3", { text: t("ptz.title") }),
    el("p", { id: "ptz-holder", class: "note", role: "status" }),
    el("p", { id: "ptz-position", class: "note" }),
    el("p", { id: "ptz-message", class: "note", role: "alert" }),
    el("div", { class: "ptz-controls" }, pad, zoom, slider),
    el("p", { class: "note", text: t("ptz.keys") }),
    el("h4", { text: t("ptz.follow") }),
    el("p", { id: "ptz-tracking", class: "status", role: "status" }),
    el("p", { class: "toolbar" },
      el("button", { type: "button", id: "ptz-follow", text: t("ptz.follow_start"), onclick: startDrawing }),
      el("button", { type: "button", id: "ptz-follow-cancel", text: t("ptz.follow_cancel"), hidden: true, onclick: stopDrawing }),
      el("button", { type: "button", id: "ptz-follow-stop", text: t("ptz.follow_stop"), hidden: true, onclick: stopFollowing })),
    el("p", { class: "note", text: t("ptz.follow_note") }),
    el("h4", { text: t("ptz.presets") }),
    el("ul", { id: "ptz-presets", class: "ptz-presets" }),
    store,
    el("h4", { text: t("ptz.tour") }),
    el("p", { id: "ptz-tour", class: "status", role: "status" },),
    el("p", { class: "toolbar" }, el("button", { type: "button", id: "ptz-tour-stop", text: t("ptz.tour_stop"), hidden: true, onclick: stopTour })),
    tour,
  );
}

function clockTime(iso) {
  // A lock lasts seconds: the time of day on the legal clock is enough.
  return new Date(iso).toLocaleTimeString(language() === "fr" ? "fr-FR" : "en-GB", { timeZone: "Europe/Paris" });
}

function render() {
  const view = dome.view;
  if (!view) return;
  const lock = view.lock;
  const mine = lock && state.me && lock.holder === state.me.username;
  const holder = lock && { holder: lock.holder, role: lock.role, until: clockTime(lock.until) };
  document.getElementById("ptz-holder").textContent = !lock ? t("ptz.free")
    : mine ? t("ptz.held_by_you", holder) : t("ptz.held_by", holder);
  const p = view.status.position;
  const where = { pan: p.pan.toFixed(3), tilt: p.tilt.toFixed(3), zoom: p.zoom.toFixed(3) };
  const position = document.getElementById("ptz-position");
  position.textContent = view.status.moving ? t("ptz.position_moving", where) : t("ptz.position", where);
  position.dataset.moving = String(view.status.moving);
  const names = new Map(view.presets.map((preset) => [preset.token, preset.name]));
  const list = document.getElementById("ptz-presets");
  list.replaceChildren(...view.presets.map((preset, n) => el("li", { dataset: { preset: preset.token } },
    n < 9 ? el("kbd", { text: String(n + 1), title: t("alarm.key_ptz_preset") }) : null,
    el("span", { text: preset.name }),
    el("button", { type: "button", class: "ptz-goto", text: t("ptz.goto"), onclick: () => send("POST", `/presets/${encodeURIComponent(preset.token)}/goto`, undefined, () => refreshSoon()) }),
    can("manage_ptz") ? el("button", { type: "button", class: "ptz-remove", text: t("ptz.remove"), onclick: () => removePreset(preset) }) : null)));
  if (!view.presets.length) list.append(el("li", { class: "note", text: t("ptz.no_presets") }));
  renderTracking(view.tracking);
  const touring = view.tour && view.tour.length;
  document.getElementById("ptz-tour").textContent = touring
    ? t("ptz.tour_running", { presets: view.tour.map((token) => names.get(token) || token).join(" → "), dwell: view.tour_dwell_s })
    : t("ptz.tour_none");
  document.getElementById("ptz-tour-stop").hidden = !touring;
  const boxes = document.getElementById("ptz-tour-presets");
  const chosen = new Set(Array.from(boxes.querySelectorAll("input:checked")).map((box) => box.value));
  const legend = boxes.querySelector("legend");
  boxes.replaceChildren(legend, ...view.presets.map((preset) => el("label", {},
    el("input", { type: "checkbox", value: preset.token, checked: chosen.has(preset.token) }), ` ${preset.name}`)));
  document.getElementById("ptz-tour-form").hidden = view.presets.length < 2;
}

function reasonText(tracking) {
  const key = `ptz.reason.${tracking.ended_reason}`;
  return has(key) ? t(key, { by: tracking.ended_by || "" }) : tracking.ended_reason;
}

function renderTracking(tracking) {
  const line = document.getElementById("ptz-tracking");
  if (!line || !tracking) return;
  line.dataset.active = String(tracking.active);
  line.dataset.reason = tracking.ended_reason || "";
  line.textContent = tracking.active
    ? t("ptz.follow_active", { by: tracking.designated_by, since: clockTime(tracking.since) })
    : tracking.ended_reason ? t("ptz.follow_ended", { at: clockTime(tracking.ended_at), reason: reasonText(tracking) })
      : t("ptz.follow_none");
  document.getElementById("ptz-follow-stop").hidden = !tracking.active;
}

function picture() {
  // The picture shown: the video (fMP4) when it plays, else the image (MJPEG).
  const video = document.getElementById("single-mse");
  return video && !video.hidden ? video : document.getElementById("single-video");
}

function startDrawing() {
  // A layer over the picture where the operator drags the target's box (pointer down, drag, up); the box is
  // measured against the picture's place at each event (it may load, or the page scroll, while one draws).
  stopDrawing();
  const figure = focusTarget();
  const layer = el("div", { id: "ptz-follow-layer", class: "ptz-follow-layer", title: t("ptz.follow_draw") });
  const box = el("div", { class: "ptz-follow-box" });
  layer.append(box);
  figure.append(layer);
  dome.drawing = { layer, box, start: null, end: null };
  const at = (event) => {
    const r = picture().getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (event.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (event.clientY - r.top) / r.height)) };
  };
  const draw = () => {
    const { start, end } = dome.drawing;
    const media = picture().getBoundingClientRect();
    const outer = layer.getBoundingClientRect();
    const x = Math.min(start.x, end.x), y = Math.min(start.y, end.y);
    Object.assign(box.style, {
      left: `${media.left - outer.left + x * media.width}px`, top: `${media.top - outer.top + y * media.height}px`,
      width: `${Math.abs(end.x - start.x) * media.width}px`, height: `${Math.abs(end.y - start.y) * media.height}px`,
    });
  };
  layer.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    layer.setPointerCapture?.(event.pointerId);
    dome.drawing.start = dome.drawing.end = at(event);
    draw();
  });
  layer.addEventListener("pointermove", (event) => {
    if (!dome.drawing || !dome.drawing.start) return;
    dome.drawing.end = at(event);
    draw();
  });
  layer.addEventListener("pointerup", (event) => {
    if (!dome.drawing || !dome.drawing.start) return;
    dome.drawing.end = at(event);
    const { start, end } = dome.drawing;
    const target = { x: Math.min(start.x, end.x), y: Math.min(start.y, end.y), w: Math.abs(end.x - start.x), h: Math.abs(end.y - start.y) };
    stopDrawing();
    if (target.w < 0.01 || target.h < 0.01) return; // a click, not a box
    follow(target);
  });
  document.getElementById("ptz-follow").hidden = true;
  document.getElementById("ptz-follow-cancel").hidden = false;
  say(t("ptz.follow_draw"), "note");
}

function stopDrawing() {
  if (dome.drawing) dome.drawing.layer.remove();
  dome.drawing = null;
  const start = document.getElementById("ptz-follow");
  if (start) start.hidden = false;
  const cancel = document.getElementById("ptz-follow-cancel");
  if (cancel) cancel.hidden = true;
}

function follow(target) {
  const round = (v) => Math.round(v * 10000) / 10000;
  const body = { x: round(target.x), y: round(target.y), w: round(Math.min(target.w, 1 - target.x)), h: round(Math.min(target.h, 1 - target.y)) };
  const camera = dome.camera;
  dome.queue = dome.queue.then(async () => {
    try {
      const tracking = await api("POST", path(camera, "/track"), body);
      say("", "note");
      renderTracking(tracking);
      refreshSoon();
    } catch (err) {
      if (err instanceof NotLoggedIn) failed(err);
      else if (err.status === 403 || err.status === 409) say(t("ptz.follow_refused", { message: err.message }));
      else refused(err);
    }
  });
}

function stopFollowing() {
  send("DELETE", "/track", undefined, () => refreshSoon());
}

async function refresh() {
  const camera = dome.camera;
  if (!camera) return;
  try {
    const view = await api("GET", path(camera));
    if (dome.camera !== camera) return;
    if (panel().hidden) {
      panel().hidden = false;
      build();
    }
    dome.view = view;
    render();
    if (dome.unreachable) say("", "note"); // it answers again
    dome.unreachable = false;
  } catch (err) {
    if (dome.camera !== camera) return;
    if (err instanceof NotLoggedIn) failed(err);
    else if (err.status === 404 || err.status === 403) ptz.hide(); // no dome Vigie drives, or not for this person
    else if (err.status === 503) {
      if (panel().hidden) { panel().hidden = false; build(); }
      say(t("ptz.unreachable", { message: err.message }));
      dome.unreachable = true;
    } else status(err.message);
  }
}

function refreshSoon() {
  setTimeout(refresh, 100);
}

async function storePreset(event) {
  event.preventDefault();
  const input = document.getElementById("ptz-preset-name");
  const name = input.value.trim();
  if (!name) return;
  await send("POST", "/presets", { name }, () => {
    input.value = "";
    say(t("ptz.stored", { name }), "note");
    refreshSoon();
  });
}

function removePreset(preset) {
  if (!confirm(t("ptz.remove_confirm", { name: preset.name }))) return;
  send("DELETE", `/presets/${encodeURIComponent(preset.token)}`, undefined, () => refreshSoon());
}

function startTour(event) {
  event.preventDefault();
  const presets = Array.from(document.querySelectorAll("#ptz-tour-presets input:checked")).map((box) => box.value);
  if (presets.length < 2) {
    say(t("ptz.tour_two"));
    return;
  }
  const dwell = Number(document.getElementById("ptz-dwell").value);
  send("POST", "/tour", { presets, dwell_s: dwell }, () => refreshSoon());
}

function stopTour() {
  send("DELETE", "/tour", undefined, () => refreshSoon());
}

function focusTarget() {
  return document.querySelector("#single-view figure.single");
}

export const ptz = {
  // Called by the live view when it shows one camera, and when it stops showing it.
  show(cameraId) {
    if (dome.camera === cameraId) { // shown again (the language changed): drawn again in its words
      if (!panel().hidden) { build(); render(); }
      return;
    }
    this.hide();
    if (!can("control_ptz")) return;
    dome.camera = cameraId;
    api("GET", "/api/cameras/ptz") // the domes one may drive: a fixed camera's controls are not even asked for
      .then((domes) => {
        if (dome.camera !== cameraId || dome.timer || !domes.cameras.includes(cameraId)) return;
        const figure = focusTarget();
        figure.tabIndex = 0; // the arrows drive the dome while the picture has the focus
        figure.setAttribute("aria-label", t("ptz.focus"));
        refresh();
        dome.timer = setInterval(refresh, REFRESH_MS);
      })
      .catch((err) => { if (err instanceof NotLoggedIn) failed(err); });
  },
  hide() {
    stopDrawing();
    if (dome.camera && dome.moved) stopHolding(); // leaving while a button is held stops the dome
    stopHolding(false);
    clearInterval(dome.timer);
    dome.timer = null;
    dome.camera = null;
    dome.view = null;
    const box = panel();
    box.hidden = true;
    box.replaceChildren();
    const figure = focusTarget();
    figure.removeAttribute("tabindex");
    figure.removeAttribute("aria-label");
  },
};

const figure = focusTarget();
figure.addEventListener("keydown", onKey);
figure.addEventListener("keyup", onKey);
figure.addEventListener("blur", () => { if (dome.keys.size) stopHolding(); });
window.addEventListener("blur", () => { if (dome.held) stopHolding(); }); // a key or button released elsewhere
document.addEventListener("visibilitychange", () => { if (document.hidden && dome.held) stopHolding(); });

// The dome's keys anywhere in its single view, not only on the focused picture (issue 24), listed by "?": the arrows
// and + / − held move it (the picture's own listener above takes them first when it has the focus), 1–9 (or Alt+1–9,
// the physical digits on an AZERTY keyboard) recall the presets in the panel's order, Home sends it home. Not while
// a widget that has its own arrow keys (a tree, a list, a slider) has the focus.
const WIDGETS = "[role=tree], [role=treeitem], [role=listbox], [role=grid], [role=menu], [role=tablist], [role=slider]";
const driving = () => Boolean(dome.camera && dome.view && !panel().hidden && !document.activeElement?.closest?.(WIDGETS));
const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
shortcut(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"], "alarm.key_ptz_move", onKey, { group: "alarm.keys_group", when: driving });
shortcut(["+", "-"], "alarm.key_ptz_zoom", onKey, { group: "alarm.keys_group", when: driving });
shortcut([...DIGITS, ...DIGITS.map((d) => `Alt+${d}`)], "alarm.key_ptz_preset", (event) => {
  const n = Number(combo(event).slice(-1));
  const preset = dome.view.presets[n - 1];
  if (!preset) { say(t("alarm.ptz_no_preset", { n })); return; }
  send("POST", `/presets/${encodeURIComponent(preset.token)}/goto`, undefined, () => {
    say(t("alarm.ptz_recalled", { name: preset.name }), "note");
    refreshSoon();
  });
}, { group: "alarm.keys_group", when: driving });
shortcut(["Home"], "alarm.key_ptz_home", () => send("POST", "/home", undefined, () => refreshSoon()), { group: "alarm.keys_group", when: driving });
document.addEventListener("keyup", (event) => { if (dome.keys.has(event.key)) onKey(event); });
