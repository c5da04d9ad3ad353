// The operator console. Plain modules, no framework, no build step: what a commune's IT can read and audit.
// Text is inserted with textContent only (never innerHTML). The session is an HttpOnly cookie this script never
// sees; state-changing requests carry the CSRF token from /api/auth/me. Views are chosen by the URL's hash
// (#/live, #/live/<camera>, #/alerts …) so a page can be bookmarked and the back button works.

import { chooseLanguage, has, setLanguage, t } from "./i18n.js";
import { refreshAlarms } from "./health.js";
import { VIEWS } from "./views.js";
import { alarms, alarmWindow, startAlarms } from "./alarms.js";
import "./keys.js"; // the keyboard shortcuts ("?" lists them)

export const state = {
  me: null, csrf: "", permissions: [], cameras: [], governance: null, view: null, ready: Promise.resolve(),
};
VIEWS["alarm-window"] = alarmWindow; // the designated alarm window, for a second monitor (alarms.js)
let timer = null;
const REFRESH_S = 5;
const REFRESH_WITH_FEED_S = 15; // the live feed brings new alerts and camera health; polling only catches the rest

function refreshEvery(seconds) {
  if (timer) clearInterval(timer);
  timer = setInterval(refresh, seconds * 1000);
}

export class NotLoggedIn extends Error {}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

export async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") options.headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(path, options);
  if (response.status === 401 && path !== "/api/auth/login") throw new NotLoggedIn();
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = (data && data.error) || {};
    const details = (error.details || []).map((d) => d.message || d.msg || JSON.stringify(d));
    const message = [error.message || response.statusText, ...details.filter((d) => d !== error.message)];
    throw new ApiError(response.status, error.code, message.join(" — "), error.details);
  }
  return data;
}

export function can(permission) {
  return state.permissions.includes(permission);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function cell(row, text, cls) {
  const td = el("td", { text, class: cls });
  row.appendChild(td);
  return td;
}

export function fill(tableId, rows, render) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement("tr");
    render(tr, item);
    body.appendChild(tr);
  }
}

export function status(message) {
  document.getElementById("updated").textContent = message;
}

export function cameraName(id) {
  const camera = state.cameras.find((c) => c.id === id);
  return camera ? camera.name : id;
}

export function failed(err) {
  if (err instanceof NotLoggedIn) showLogin(t("login.ended"));
  else status(t("unreachable", { message: err.message }));
}

async function offerSingleSignOn() {
  // A plain link, not a form: the page's form-action policy would stop a form's redirect to the provider.
  try {
    const methods = await api("GET", "/api/auth/methods");
    const sso = document.getElementById("sso");
    sso.hidden = !methods.oidc;
    if (methods.oidc) {
      const link = document.getElementById("sso-link");
      link.href = methods.oidc.url;
      link.textContent = t("login.sso", { provider: methods.oidc.label });
    }
  } catch (err) {
    // an older server without the endpoint: passwords only
  }
}

function showLogin(message) {
  if (timer) clearInterval(timer);
  timer = null;
  closeFeed();
  leaveView();
  state.me = null;
  alarms.stop();
  document.getElementById("app").hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("banner").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  status("");
  offerSingleSignOn();
}

async function showApp(me) {
  state.me = me;
  state.csrf = me.csrf_token;
  state.permissions = me.permissions;
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = `${me.display_name} (${me.roles.join(", ")}) · ${me.commune_id}`;
  const refusal = document.getElementById("video-refusal");
  const videoRoles = ["operator", "supervisor", "investigator", "dpo"];
  refusal.hidden = me.video_access || !me.video_refusal || !me.roles.some((r) => videoRoles.includes(r));
  refusal.textContent = me.video_refusal ? t("video.refusal", { reason: me.video_refusal }) : "";
  for (const link of document.querySelectorAll("[data-view-link]")) {
    const view = VIEWS[link.dataset.viewLink];
    link.hidden = !view || !view.allowed();
  }
  startAlarms();
  connectFeed();
  refreshEvery(REFRESH_S);
  state.ready = refresh(); // views start with the camera list and the governance state in hand
  await route();
}

// --- views ---------------------------------------------------------------------------------------------------

function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const [name, ...rest] = path.split("/");
  return { name: name || "", args: rest.map(decodeURIComponent), query: new URLSearchParams(query || "") };
}

function defaultView() {
  for (const name of ["live", "alerts", "governance", "audit", "cameras"]) {
    if (VIEWS[name].allowed()) return name;
  }
  return "cameras";
}

function leaveView() {
  if (state.view && VIEWS[state.view].leave) VIEWS[state.view].leave();
  state.view = null;
}

let routeCalls = 0;

export async function route() {
  // Calls made while the first camera list is awaited (the login's, a hash changed meanwhile) all wait for it; only
  // the last one enters the view (each reads the address when it goes on): a view entered twice at start-up drew
  // its forms twice, the second under the hand of a person already choosing in the first.
  const mine = ++routeCalls;
  await state.ready; // a hash changed before the first camera list arrived waits for it
  if (mine !== routeCalls || !state.me) return;
  let { name, args, query } = currentRoute();
  if (!VIEWS[name] || !VIEWS[name].allowed()) name = defaultView();
  if (state.view !== name) leaveView();
  state.view = name;
  for (const section of document.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== name;
  for (const link of document.querySelectorAll("[data-view-link]")) {
    link.classList.toggle("active", link.dataset.viewLink === name);
  }
  VIEWS[name].enter(args, query);
}

// Refreshes overlap (the timer's, and the one an action asks for): under load an answer read before an action can
// arrive after the answer read after it. Each refresh is numbered when it starts, and an answer older than one
// already shown is dropped, so a request the operator just made never vanishes from the page until the next tick.
let refreshStarted = 0;
let refreshShown = 0;

async function refresh() {
  if (!state.me) return;
  const mine = ++refreshStarted;
  try {
    const cameras = await api("GET", "/api/cameras");
    const governance = can("read_governance") ? await api("GET", "/api/governance") : null;
    if (mine < refreshShown) return;
    refreshShown = mine;
    state.cameras = cameras;
    camerasChanged();
    if (governance) {
      state.governance = governance;
      showBanner(state.governance);
    }
    const view = state.view && VIEWS[state.view];
    if (view && view.refresh) await view.refresh();
    if (state.view !== "health") await refreshAlarms(); // the alarm count in the menu, from any view
    await alarms.refresh(); // alerts waiting for a decision pop up in every view, even one the feed missed
    status(t("updated", { time: new Date().toLocaleTimeString() }));
  } catch (err) {
    failed(err);
  }
}

export function refreshSoon() {
  setTimeout(refresh, 50);
}

function showBanner(governance) {
  const banner = document.getElementById("banner");
  banner.hidden = false;
  const stopped = Boolean(governance.global_stop);
  const count = governance.active_count;
  const simulated = governance.simulated_footage || [];
  const modules = [...new Set(simulated.flatMap((s) => s.modules))].sort().join(", ");
  banner.className = stopped ? "banner stopped" : count > 0 || simulated.length ? "banner active" : "banner";
  banner.dataset.active = String(count);
  let text = stopped ? t("banner.stopped") : count > 0 ? t("banner.active", { count }) : "";
  if (!stopped && simulated.length) {
    const part = t("banner.simulated", { cameras: simulated.length, modules });
    text = text ? `${text} · ${part}` : part;
  }
  banner.textContent = text || t("banner.none");
}

// --- the camera list: replaced by each refresh, merged from the feed's changes ---------------------------------

let wholeListNext = false; // set by the feed's "open", in the window reading it and in those it passes it to

function mergeCameras(changed, gone) {
  // The feed sends the cameras that appeared or changed since its last message (the whole list is ~2 MB at the
  // métropole's size): replaced by id, new ones added at the end, gone ones removed.
  const goneIds = new Set(gone);
  const byId = new Map(changed.map((c) => [c.id, c]));
  const merged = [];
  for (const camera of state.cameras) {
    if (goneIds.has(camera.id)) continue;
    merged.push(byId.get(camera.id) || camera);
    byId.delete(camera.id);
  }
  state.cameras = merged.concat([...byId.values()]);
}

function camerasChanged() {
  // for the panels that show cameras whatever the view (the camera tree)
  window.dispatchEvent(new CustomEvent("vigie:cameras"));
}

// --- live feed of alerts and camera health (Server-Sent Events; the 5 s refresh is the fallback) --------------
// One feed for all of this browser's console windows. A browser holds at most six HTTP/1.1 connections to a server,
// shared by its windows, and a feed holds one as long as its page lives: a main window and detached screens each
// with their own feed filled them, and the next picture or API call of any window waited behind them. The window
// that holds the Web Lock "vigie-feed" reads the feed and passes each event to the others over the BroadcastChannel
// of the same name; when it closes, its lock goes to another window, which opens the feed (the server sends the
// whole camera list again to a new connection). Without Web Locks (a page over plain HTTP, not on this machine),
// each window reads its own feed. The windows share the session (one cookie), so they are owed the same events.

const FEED = "vigie-feed";
const FEED_EVENTS = ["open", "error", "alert", "sensor", "cameras", "cameras-gone", "ended"];
const feed = { on: false, source: null, channel: null, release: null, abort: null };

function connectFeed() {
  if (feed.on || typeof EventSource === "undefined") return;
  feed.on = true;
  if (!navigator.locks || typeof BroadcastChannel === "undefined") { openFeed(); return; }
  const channel = new BroadcastChannel(FEED);
  feed.channel = channel;
  channel.onmessage = (event) => {
    const { type, data } = event.data || {};
    if (feed.source) { // this window reads the feed: a window that just opened asks whether it is live
      if (type === "ask" && feed.source.readyState === EventSource.OPEN) channel.postMessage({ type: "live" });
      return;
    }
    if (type === "live") feedLive(true);
    else if (FEED_EVENTS.includes(type)) onFeed(type, data);
  };
  channel.postMessage({ type: "ask" });
  const abort = new AbortController();
  feed.abort = abort;
  navigator.locks.request(FEED, { signal: abort.signal }, () => new Promise((release) => {
    if (feed.abort !== abort) { release(); return; } // closed (or closed and opened again) while waiting in line
    feed.release = release;
    openFeed();
  })).catch(() => {}); // aborted while waiting: the window closed its feed
}

function openFeed() {
  const source = new EventSource("/api/feed");
  feed.source = source;
  for (const type of FEED_EVENTS) {
    source.addEventListener(type, (event) => {
      if (feed.source !== source) return;
      const data = event.data; // none for "open" and "error"
      if (feed.channel) feed.channel.postMessage({ type, data });
      onFeed(type, data);
    });
  }
}

function closeFeed() {
  feed.on = false;
  if (feed.source) feed.source.close();
  feed.source = null;
  if (feed.channel) feed.channel.close();
  feed.channel = null;
  if (feed.abort) feed.abort.abort();
  feed.abort = null;
  if (feed.release) feed.release(); // the next window in line reads the feed
  feed.release = null;
}

function feedLive(live) {
  document.getElementById("feed-state").textContent = t(live ? "alerts.live" : "alerts.polling");
  if (state.me) refreshEvery(live ? REFRESH_WITH_FEED_S : REFRESH_S);
}

function onFeed(type, data) {
  const view = state.view && VIEWS[state.view];
  if (type === "open") {
    wholeListNext = true; // a (re)connected feed sends the whole list first, then only the cameras that change
    feedLive(true);
  } else if (type === "error") {
    feedLive(false);
  } else if (type === "alert") {
    const alert = JSON.parse(data);
    status(t("alerts.new", { kind: alert.kind, camera: cameraName(alert.camera_id) }));
    alarms.onAlert(alert); // the pop-up, in every view
    if (view && view.onAlert) view.onAlert(alert);
  } else if (type === "sensor") {
    const link = JSON.parse(data);
    status(t("sensors.wall", { sensor: link.sensor, label: link.label }) + " — " + link.cameras.map(cameraName).join(", "));
    if (view && view.onSensor) view.onSensor(link);
  } else if (type === "cameras" || type === "cameras-gone") {
    if (type === "cameras-gone") mergeCameras([], JSON.parse(data));
    else if (wholeListNext) state.cameras = JSON.parse(data);
    else mergeCameras(JSON.parse(data), []);
    if (type === "cameras") wholeListNext = false;
    camerasChanged();
    if (view && view.onCameras) view.onCameras();
  } else if (type === "ended") { // the session ended: every window learns it from its next call
    closeFeed();
    refresh();
  }
}

// --- login, logout, language ---------------------------------------------------------------------------------

// --- theme: light, dark (a supervision room at night), or as the system says; kept in this browser ----------------

const THEME_KEY = "vigie-theme";
const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

function applyTheme(choice) {
  const dark = choice === "dark" || (choice === "auto" && darkQuery && darkQuery.matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  window.dispatchEvent(new CustomEvent("vigie:theme", { detail: { theme: document.documentElement.dataset.theme } }));
}

function setUpTheme() {
  const select = document.getElementById("theme");
  let saved = "auto";
  try {
    saved = localStorage.getItem(THEME_KEY) || "auto";
  } catch (err) {
    // storage refused (a locked-down kiosk): the system's choice, for this page
  }
  select.value = ["auto", "light", "dark"].includes(saved) ? saved : "auto";
  applyTheme(select.value);
  select.addEventListener("change", () => {
    try {
      localStorage.setItem(THEME_KEY, select.value);
    } catch (err) {
      // not kept, still applied
    }
    applyTheme(select.value);
  });
  if (darkQuery) darkQuery.addEventListener("change", () => applyTheme(select.value));
}

async function start() {
  setUpTheme();
  const select = document.getElementById("lang");
  select.value = chooseLanguage();
  setLanguage(select.value);
  select.addEventListener("change", () => {
    setLanguage(select.value);
    if (state.me) showApp(state.me);
  });
  // Back from the identity provider with a refusal: #/login?error=CODE
  const { name, query } = currentRoute();
  const refused = name === "login" && query.get("error");
  if (refused) history.replaceState(null, "", "/");
  try {
    showApp(await api("GET", "/api/auth/me"));
  } catch (err) {
    if (err instanceof NotLoggedIn) {
      const key = `sso.${refused}`;
      showLogin(refused ? (has(key) ? t(key) : t("sso.other", { code: refused })) : "");
    } else {
      showLogin(t("unreachable", { message: err.message }));
    }
  }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    username: document.getElementById("username").value,
    password: document.getElementById("password").value,
    totp: document.getElementById("totp").value,
  };
  try {
    const me = await api("POST", "/api/auth/login", body);
    document.getElementById("password").value = "";
    document.getElementById("totp").value = "";
    showApp(me);
  } catch (err) {
    // The API's refusals have stable codes: say them in the console's language (the API's words otherwise).
    const key = `error.${err.code}`;
    document.getElementById("login-error").textContent = err.code && has(key) ? t(key) : err.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/api/auth/logout");
  } catch (err) {
    // the session may have ended already
  }
  showLogin("");
});

window.addEventListener("hashchange", route);

start();
