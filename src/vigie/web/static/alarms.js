// Alarm handling (issue 24): an alert pending a person's decision pops up over whatever view the operator is in,
// with its camera, kind, time, image and the camera live, and the three decisions. Several wait: a queue, the most
// urgent first (the alert's priority, set per module by the configuration), then the oldest. A sound (generated
// here, no file) says a new alert came and repeats gently while alerts wait; it can be silenced for the session.
// A "designated window" (#/alarm-window, for a second monitor) can show the queue instead; the main window then
// only says how many wait. Windows talk over a BroadcastChannel.
//
// Nothing here sends anything anywhere: the pop-up only calls the decision endpoints (confirm, dismiss) as the
// alerts view does, and only when a person presses a button or its key (L28). The decision keys act only while
// the pop-up has the focus, so that a stray key in another view never confirms an alert.

import { api, can, cameraName, el, NotLoggedIn, failed, state, status } from "./app.js";
import { formatTime, t } from "./i18n.js";
import { shortcut } from "./keys.js";
import {
  audible, chime, claimVoice, loadSilence, onSoundChange, setSilenced, sound, soundState, unlock, voiceHeld,
} from "./alarm-sound.js";

const REPEAT_MS = 20000; // the reminder while alerts wait: gentle, not a siren
const WINDOW_ALIVE_MS = 5000; // the alarm window says it is open every 2 s; silent this long, it is gone
const CHANNEL = "vigie-alarms";
const GROUP = "alarm.keys_group";

const alarm = {
  queue: [], // pending alerts, the most urgent first
  shown: null, // the id of the alert the pop-up shows
  minimised: false, // the operator put the pop-up aside (Escape); a compact notice stays
  announced: new Set(), // alerts already told to the layouts (vigie:alarm-camera) and chimed for
  decided: new Set(), // decided from this page or another window: a list read before that is not believed
  arrived: new Map(), // id -> when the feed brought it: a list read before that does not remove it
  inWindow: false, // this page is the designated alarm window
  windowSeen: 0, // when the alarm window last said it was open (main window)
  windowAudible: false, // whether that window can play the sound
  returnFocus: null, // where the focus was before the pop-up took it
  error: "",
};

const popup = () => document.getElementById("alarm-popup");
const notice = () => document.getElementById("alarm-notice");

export function mayDecide() {
  return Boolean(state.me) && can("decide_alerts") && can("read_alerts");
}

// --- the alert's image and the decision, shared with the alerts view -----------------------------------------

const snapshots = new Map();

export function snapshot(alert) {
  // The alert's image: the recorded frame at the alert's time, region drawn on top. Each image shown is audited
  // as a playback, so one element per alert is kept across refreshes (the alerts view and the pop-up share it)
  // and fetched once.
  if (snapshots.has(alert.id)) return snapshots.get(alert.id);
  if (snapshots.size > 200) snapshots.clear();
  const url = `/api/alerts/${alert.id}/snapshot.jpg`;
  const img = el("img", { src: url, alt: alert.kind, loading: "lazy" });
  const box = el("span", { class: "snapshot" }, img);
  // The segment holding that moment is indexed once written (a few seconds): until then, say so and try again.
  let tries = 0;
  img.addEventListener("error", () => {
    box.classList.add("pending");
    box.title = t("alerts.image_pending");
    tries += 1;
    if (tries < 6) setTimeout(() => { img.src = `${url}?retry=${tries}`; }, 5000);
  });
  img.addEventListener("load", () => box.classList.remove("pending"));
  snapshots.set(alert.id, box);
  const r = alert.region;
  const mark = el("span", { class: "region" });
  mark.style.left = `${r.x * 100}%`;
  mark.style.top = `${r.y * 100}%`;
  mark.style.width = `${r.w * 100}%`;
  mark.style.height = `${r.h * 100}%`;
  box.appendChild(mark);
  return box;
}

export async function decideAlert(alert, action, verdict) {
  // A person's verdict (the only way anything about an alert ever leaves the console, and only when confirmed).
  const body = action === "dismiss" ? { verdict } : {};
  let gone = false;
  try {
    const decided = await api("POST", `/api/alerts/${alert.id}/${action}`, body);
    gone = true;
    return decided;
  } catch (err) {
    gone = err.status === 409 || err.status === 404; // decided by someone else meanwhile, or no longer visible
    throw err;
  } finally {
    if (gone) {
      drop(alert.id); // out of the queue, here and in the other windows
      tell({ type: "decided", id: alert.id });
    }
  }
}

// --- the queue ---------------------------------------------------------------------------------------------------

function order(a, b) {
  return (a.priority_rank ?? 2) - (b.priority_rank ?? 2) || a.at.localeCompare(b.at) || a.id - b.id;
}

function current() {
  return alarm.queue.find((a) => a.id === alarm.shown) || null;
}

function place(alerts) {
  // The queue from what the server says waits; the shown alert stays shown unless a more urgent one came.
  const before = current();
  alarm.queue = alerts.filter((a) => a.state === "pending" && !alarm.decided.has(a.id)).sort(order);
  const first = alarm.queue[0] || null;
  const fresh = alarm.queue.filter((a) => !alarm.announced.has(a.id));
  const kept = current();
  if (!kept || (first && first.id !== kept.id && (first.priority_rank ?? 2) < (kept.priority_rank ?? 2)
    && fresh.some((a) => a.id === first.id))) {
    alarm.shown = first ? first.id : null;
  }
  if (fresh.length) {
    for (const a of fresh) alarm.announced.add(a.id);
    if (alarm.announced.size > 1000) alarm.announced = new Set(alarm.queue.map((a) => a.id));
    alarm.minimised = false; // a new alert is never hidden behind a notice put aside for an older one
    ring(true);
  }
  const now = current();
  if (now && (!before || before.id !== now.id)) showCamera(now);
  render(Boolean(fresh.length));
}

function drop(id) {
  alarm.decided.add(id);
  if (alarm.decided.size > 1000) alarm.decided = new Set([id]);
  if (!alarm.queue.some((a) => a.id === id)) return;
  const index = alarm.queue.findIndex((a) => a.id === id);
  alarm.queue = alarm.queue.filter((a) => a.id !== id);
  if (alarm.shown === id) {
    const next = alarm.queue[Math.min(index, alarm.queue.length - 1)] || null;
    alarm.shown = next ? next.id : null;
    if (next) showCamera(next);
  }
  render(false);
}

function step(by) {
  if (alarm.queue.length < 2) return;
  const index = alarm.queue.findIndex((a) => a.id === alarm.shown);
  const next = alarm.queue[(index + by + alarm.queue.length) % alarm.queue.length];
  alarm.shown = next.id;
  alarm.error = "";
  showCamera(next);
  render(false);
  popup().focus();
}

function showCamera(alert) {
  // The layouts put the camera in the tile the operator designated for alarms, when the shown layout has one.
  window.dispatchEvent(new CustomEvent("vigie:alarm-camera", { detail: { camera: alert.camera_id, alert } }));
}

export const alarms = {
  // Called by app.js: on each refresh (and so at log-in) and for each alert the live feed brings.
  async refresh() {
    if (!mayDecide()) { clear(); return; }
    try {
      // Read while the feed may bring an alert: one it brought after this question was asked stays queued.
      const asked = Date.now();
      const pending = await api("GET", "/api/alerts?state=pending&limit=100");
      const listed = new Set(pending.items.map((a) => a.id));
      const later = alarm.queue.filter((a) => !listed.has(a.id) && (alarm.arrived.get(a.id) || 0) >= asked);
      for (const [id, at] of alarm.arrived) if (at < asked - 60000) alarm.arrived.delete(id);
      place([...pending.items, ...later]);
    } catch (err) {
      if (err instanceof NotLoggedIn) failed(err);
    }
  },
  onAlert(alert) {
    if (!mayDecide() || alert.state !== "pending" || alarm.queue.some((a) => a.id === alert.id)) return;
    alarm.arrived.set(alert.id, Date.now());
    place([...alarm.queue, alert]);
  },
  stop() {
    // logged out: nothing shown, nothing playing
    clear();
  },
};

function clear() {
  alarm.queue = [];
  alarm.shown = null;
  alarm.announced.clear();
  alarm.decided.clear();
  alarm.arrived.clear();
  render(false);
}

// --- where it shows: the pop-up, a compact notice, or the alarm window ------------------------------------------

function route() {
  return location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
}

function windowOpen() {
  return !alarm.inWindow && Date.now() - alarm.windowSeen < WINDOW_ALIVE_MS;
}

function videoOnly() {
  // A detached screen (#/live?screen=N) or a video-wall output shows pictures only: the main window (or the alarm
  // window) shows the alert, not every monitor at once, each with its camera live on a connection of its own.
  const [view, query] = location.hash.replace(/^#\/?/, "").split("?");
  return view === "wall-output" || view.startsWith("wall-output/") || (view === "live" && new URLSearchParams(query || "").has("screen"));
}

function fullShown() {
  // The whole pop-up here: in the alarm window always; in the main window unless the alarm window shows it, the
  // operator put it aside, or the alerts view (which lists them all with the same decisions) is shown.
  if (!mayDecide() || videoOnly()) return false;
  if (alarm.inWindow) return true;
  return Boolean(current()) && !alarm.minimised && !windowOpen() && route()[0] !== "alerts";
}

export function popupShown() {
  const box = popup();
  return Boolean(box && !box.hidden && current());
}

function focusInPopup() {
  const box = popup();
  return popupShown() && box.contains(document.activeElement);
}

function interactive(node) {
  return Boolean(node && node.closest && node.closest("button, a[href], input, select, textarea, summary"));
}

function render(arrived) {
  const box = popup();
  if (!box) return;
  const full = fullShown();
  const alert = current();
  const wasShown = !box.hidden;
  const focused = box.contains(document.activeElement) ? document.activeElement.id || "" : null;
  box.hidden = !full;
  if (full && alert) drawPopup(box, alert);
  else if (full) drawEmpty(box);
  else stopLive();
  if (full && focused !== null && !box.contains(document.activeElement)) {
    // redrawn under the person's focus: it stays on the same button, or on the pop-up
    const same = focused && document.getElementById(focused);
    (same && !same.disabled && box.contains(same) ? same : box).focus();
  }
  drawNotice(!full && alarm.queue.length > 0 && mayDecide() && !videoOnly());
  reserveRoom(full ? box : notice());
  if (full && alert && (arrived || !wasShown) && !alarm.inWindow) takeFocus(box);
  if (!full && wasShown && box.contains(document.activeElement)) giveFocusBack();
  schedule();
  if (alarm.inWindow) tell({ type: "alive", audible: audible() });
}

function reserveRoom(shown) {
  // Room under the page for what floats over its bottom corner: whatever it covers can be scrolled above it.
  const height = !alarm.inWindow && shown && !shown.hidden ? shown.offsetHeight : 0;
  document.body.style.paddingBottom = height ? `${height + 24}px` : "";
}

function takeFocus(box) {
  // Focus to the pop-up, unless the person is typing in a field (the pop-up is announced all the same).
  const active = document.activeElement;
  if (box.contains(active)) return;
  if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return;
  alarm.returnFocus = active && active !== document.body ? active : null;
  box.focus();
}

function giveFocusBack() {
  const back = alarm.returnFocus;
  alarm.returnFocus = null;
  if (back && back.isConnected) back.focus();
  else document.activeElement.blur();
}

function keyHint(key) {
  return el("kbd", { text: key });
}

function drawPopup(box, alert) {
  const index = alarm.queue.findIndex((a) => a.id === alert.id);
  const camera = cameraName(alert.camera_id);
  const priority = alert.priority || "normal";
  box.dataset.alert = String(alert.id);
  box.dataset.priority = priority;
  const image = can("view_live") || can("playback") ? snapshot(alert) : null;
  const figures = el("div", { class: "alarm-pictures" },
    el("figure", { class: "alarm-figure" }, image || el("span", { class: "note", text: t("alarm.no_video") }),
      el("figcaption", { text: t("alarm.image", { time: formatTime(alert.at) }) })),
    el("figure", { class: "alarm-figure" }, liveImage(alert),
      el("figcaption", { id: "alarm-live-caption", text: t("alarm.live") })));
  const decisions = [
    ["confirm", null, "alerts.confirm", "c"],
    ["dismiss", "false_positive", "alerts.false_positive", "f"],
    ["dismiss", "not_actionable", "alerts.not_actionable", "x"],
  ].map(([action, verdict, label, key]) => el("button", {
    type: "button", class: action === "confirm" ? "alarm-confirm" : "", dataset: { action, verdict: verdict || "" },
    "aria-keyshortcuts": key.toUpperCase(), onclick: () => decide(action, verdict),
  }, t(label), " ", keyHint(key.toUpperCase())));
  box.replaceChildren(
    el("div", { class: "alarm-head" },
      el("h2", { id: "alarm-title", text: t("alarm.title") }),
      el("span", { id: "alarm-count", class: "alarm-count-badge", text: t("alarm.count", { n: index + 1, total: alarm.queue.length }) })),
    el("p", { id: "alarm-what", class: "alarm-what" },
      el("span", { class: `alarm-priority priority-${priority}`, text: t(`alarm.priority_${priority}`) }), " ",
      el("strong", { id: "alarm-camera", text: camera }), " · ",
      el("span", { id: "alarm-kind", text: alert.kind }), " · ",
      el("time", { id: "alarm-when", datetime: alert.at, text: formatTime(alert.at) })),
    figures,
    el("p", { class: "note", text: t("alarm.nothing_sent") }),
    el("div", { class: "alarm-decisions toolbar", role: "group", "aria-label": t("alarm.decisions") }, ...decisions),
    el("div", { class: "alarm-nav toolbar" },
      el("button", { type: "button", id: "alarm-prev", disabled: alarm.queue.length < 2, "aria-keyshortcuts": "K PageUp", onclick: () => step(-1) }, t("alarm.previous"), " ", keyHint("K")),
      el("button", { type: "button", id: "alarm-next", disabled: alarm.queue.length < 2, "aria-keyshortcuts": "J PageDown", onclick: () => step(1) }, t("alarm.next"), " ", keyHint("J")),
      el("button", { type: "button", id: "alarm-open-live", disabled: !can("view_live"), "aria-keyshortcuts": "Enter O", onclick: openLive }, t("alarm.open_live"), " ", keyHint("O"))),
    el("div", { class: "alarm-tools toolbar" },
      soundButton(),
      alarm.inWindow ? null : el("button", { type: "button", id: "alarm-window-open", onclick: openWindow, text: t("alarm.window_open") }),
      alarm.inWindow ? null : el("button", { type: "button", id: "alarm-minimise", "aria-keyshortcuts": "Escape", onclick: minimise }, t("alarm.minimise"), " ", keyHint("Esc"))),
    el("p", { id: "alarm-keys", class: "note", text: t(alarm.inWindow ? "alarm.keys_window" : "alarm.keys") }),
    el("p", { id: "alarm-error", class: "error", role: "alert", text: alarm.error }),
  );
}

function drawEmpty(box) {
  stopLive();
  delete box.dataset.alert;
  box.replaceChildren(
    el("div", { class: "alarm-head" }, el("h2", { id: "alarm-title", text: t("alarm.window_title") })),
    el("p", { id: "alarm-what", class: "note", text: t("alarm.none") }),
    el("div", { class: "alarm-tools toolbar" }, soundButton()),
  );
}

function drawNotice(show) {
  const box = notice();
  if (!box) return;
  box.hidden = !show;
  if (!show) { box.replaceChildren(); return; }
  const text = windowOpen() ? t("alarm.notice_window", { n: alarm.queue.length })
    : t("alarm.notice", { n: alarm.queue.length });
  const focused = box.contains(document.activeElement) ? document.activeElement.id : "";
  box.replaceChildren(
    el("span", { id: "alarm-notice-text", role: "status", text }), " ",
    windowOpen() ? null : el("button", { type: "button", id: "alarm-restore", "aria-keyshortcuts": "A", onclick: restore }, t("alarm.restore"), " ", keyHint("A")),
    soundButton("alarm-notice-sound"),
  );
  const same = focused && document.getElementById(focused);
  if (same) same.focus(); // redrawn under the person's focus: it stays on the same button
}

// --- the camera live in the pop-up: a small MJPEG, closed when not shown ---------------------------------------

let live = null; // { camera, img }

function liveImage(alert) {
  if (!can("view_live")) return el("span", { class: "note", text: t("alarm.no_video") });
  const [view, camera] = route();
  if (view === "live" && camera === alert.camera_id && !alarm.inWindow) {
    stopLive(); // the main view shows it already, larger: one stream is enough
    return el("span", { id: "alarm-live-elsewhere", class: "note", text: t("alarm.live_shown") });
  }
  if (live && live.camera === alert.camera_id) return live.img;
  stopLive();
  const img = el("img", { id: "alarm-live", alt: t("alarm.live_alt", { camera: cameraName(alert.camera_id) }) });
  img.src = `/api/cameras/${encodeURIComponent(alert.camera_id)}/live.mjpeg?quality=wall`;
  live = { camera: alert.camera_id, img };
  return img;
}

function stopLive() {
  // Removing the source closes the MJPEG connection: the server stops reading a camera nobody watches.
  if (!live) return;
  live.img.removeAttribute("src");
  live.img.src = "data:,";
  live.img.remove();
  live = null;
}

// --- the operator's actions --------------------------------------------------------------------------------------

async function decide(action, verdict) {
  const alert = current();
  if (!alert || !can("decide_alerts")) return;
  alarm.error = "";
  try {
    const decided = await decideAlert(alert, action, verdict);
    status(t("alarm.decided", { id: alert.id, verdict: t(`verdict.${decided.verdict}`), camera: cameraName(alert.camera_id) }));
  } catch (err) {
    if (err instanceof NotLoggedIn) { failed(err); return; }
    alarm.error = `#${alert.id}: ${err.message}`;
    status(alarm.error);
    render(false);
  }
  if (popupShown()) popup().focus();
}

function openLive() {
  const alert = current();
  if (!alert || !can("view_live")) return;
  if (alarm.inWindow) tell({ type: "open-live", camera: alert.camera_id }); // the main window shows it
  else location.hash = `#/live/${encodeURIComponent(alert.camera_id)}`;
}

function minimise() {
  alarm.minimised = true;
  render(false);
  const restoreButton = document.getElementById("alarm-restore");
  if (restoreButton) restoreButton.focus();
}

function restore() {
  alarm.minimised = false;
  if (windowOpen()) return;
  if (route()[0] === "alerts") { location.hash = "#/live"; }
  render(false);
  if (popupShown()) popup().focus();
}

function openWindow() {
  const opened = window.open("/#/alarm-window", "vigie-alarm-window", "popup,width=560,height=820");
  if (!opened) { alarm.error = t("alarm.window_blocked"); render(false); return; }
  alarm.windowSeen = Date.now(); // until its first word: the main window does not show the pop-up twice
  render(false);
}

// --- the sound (alarm-sound.js): which window plays it, and when -----------------------------------------------

function soundButton(id = "alarm-sound") {
  const now = soundState();
  return el("button", {
    type: "button", id, class: `alarm-sound sound-${now}`, "aria-pressed": String(sound.silenced),
    "aria-keyshortcuts": "M", dataset: { sound: now }, onclick: () => silence(!sound.silenced),
  }, t(`alarm.sound_${now}`), " ", keyHint("M"));
}

function silence(value, fromElsewhere = false) {
  setSilenced(value);
  if (!fromElsewhere) tell({ type: "silenced", value });
  render(false);
}

function playsHere() {
  // One window sounds: the one holding the sound's lock; without Web Locks, the alarm window when it is open and
  // may play, else the main one.
  const held = voiceHeld();
  if (held !== null) return held;
  return alarm.inWindow || !windowOpen() || !alarm.windowAudible;
}

function ring(strong) {
  if (sound.silenced || !mayDecide() || !alarm.queue.length || !playsHere() || !audible()) return;
  chime(strong);
  const box = popup();
  if (box) box.dataset.chimes = String(Number(box.dataset.chimes || 0) + 1);
}

let reminder = null;

function schedule() {
  // The gentle reminder, while alerts wait.
  const waiting = alarm.queue.length > 0 && mayDecide();
  if (waiting && !reminder) reminder = setInterval(() => ring(false), REPEAT_MS);
  if (!waiting && reminder) { clearInterval(reminder); reminder = null; }
}

onSoundChange(() => {
  if (alarm.inWindow && audible()) claimVoice(true); // the alarm window sounds once it may
  render(false);
});

for (const type of ["keydown", "pointerdown"]) {
  document.addEventListener(type, () => { if (state.me && !sound.silenced) unlock(); }, { capture: true });
}

// --- the windows talk: the alarm window's presence, decisions, silence, "open live" ----------------------------

const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL);

function tell(message) {
  if (channel) channel.postMessage(message);
}

if (channel) {
  channel.addEventListener("message", (event) => {
    const message = event.data || {};
    if (message.type === "alive" && !alarm.inWindow) {
      const was = windowOpen();
      alarm.windowSeen = Date.now();
      alarm.windowAudible = Boolean(message.audible);
      if (!was) render(false);
    } else if (message.type === "gone" && !alarm.inWindow) {
      alarm.windowSeen = 0;
      render(false);
    } else if (message.type === "decided") {
      drop(message.id);
    } else if (message.type === "silenced") {
      silence(Boolean(message.value), true);
    } else if (message.type === "open-live" && !alarm.inWindow && state.me) {
      location.hash = `#/live/${encodeURIComponent(message.camera)}`;
      window.focus();
    }
  });
}

setInterval(() => {
  if (alarm.inWindow && state.me) tell({ type: "alive", audible: audible() });
  else if (alarm.windowSeen && !windowOpen() && alarm.windowSeen > 0) { alarm.windowSeen = 0; render(false); }
}, 2000);

window.addEventListener("pagehide", () => { if (alarm.inWindow) tell({ type: "gone" }); });
window.addEventListener("hashchange", () => render(false));

// The designated window: a page with nothing but the alarm queue (app.js routes #/alarm-window here).
function sessionMark() {
  // The silence lasts for this log-in only (a new session sounds again): it is stored with a fingerprint of the
  // session's CSRF token. FNV-1a by hand: a 32-bit fingerprint needs no library, and crypto.subtle is missing on
  // plain-HTTP pages.
  let hash = 0x811c9dc5;
  for (const ch of `${state.me ? state.me.username : ""}:${state.csrf}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16);
}

export const alarmWindow = {
  allowed: () => mayDecide(),
  enter() {
    alarm.inWindow = true;
    document.body.classList.add("alarm-window");
    document.title = t("alarm.window_title");
    loadSilence(sessionMark());
    if (audible()) claimVoice(true);
    render(false);
    popup().focus();
  },
  leave() {
    alarm.inWindow = false;
    document.body.classList.remove("alarm-window");
    tell({ type: "gone" });
    render(false);
  },
};

export function startAlarms() {
  // At log-in (app.js): the session's silence, then the pending alerts.
  loadSilence(sessionMark());
  unlock();
  claimVoice(false);
}

// --- keys (keys.js: "?" lists them) ------------------------------------------------------------------------------

const inPopup = () => focusInPopup();
shortcut(["Enter"], "alarm.key_live", openLive, { group: GROUP, when: () => inPopup() && !interactive(document.activeElement), scoped: true });
shortcut(["o"], "alarm.key_live", openLive, { group: GROUP, when: inPopup, scoped: true });
shortcut(["c"], "alarm.key_confirm", () => decide("confirm", null), { group: GROUP, when: inPopup, scoped: true });
shortcut(["f"], "alarm.key_false_positive", () => decide("dismiss", "false_positive"), { group: GROUP, when: inPopup, scoped: true });
shortcut(["x"], "alarm.key_not_actionable", () => decide("dismiss", "not_actionable"), { group: GROUP, when: inPopup, scoped: true });
shortcut(["j", "PageDown"], "alarm.key_next", () => step(1), { group: GROUP, when: () => inPopup() && alarm.queue.length > 1, scoped: true });
shortcut(["k", "PageUp"], "alarm.key_previous", () => step(-1), { group: GROUP, when: () => inPopup() && alarm.queue.length > 1, scoped: true });
shortcut(["Escape"], "alarm.key_minimise", minimise, {
  group: GROUP, when: () => inPopup() && !alarm.inWindow && !document.querySelector("dialog[open]"), scoped: true,
});
shortcut(["a"], "alarm.key_show", () => { restore(); if (popupShown()) popup().focus(); }, {
  group: GROUP, when: () => mayDecide() && alarm.queue.length > 0 && !focusInPopup() && !windowOpen(),
});
shortcut(["m"], "alarm.key_sound", () => silence(!sound.silenced), {
  group: GROUP, when: () => mayDecide() && (alarm.queue.length > 0 || alarm.inWindow),
});
