"use strict";
// Console: log in, then poll the API. Text is inserted with textContent only (never innerHTML). The session is an
// HttpOnly cookie this script never sees; state-changing requests carry the CSRF token from /api/auth/me.

let csrf = "";
let timer = null;

class NotLoggedIn extends Error {}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, options);
  if (response.status === 401 && path !== "/api/auth/login") throw new NotLoggedIn();
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error((data && data.error && data.error.message) || response.statusText);
  return data;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fill(tableId, rows, render) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement("tr");
    render(tr, item);
    body.appendChild(tr);
  }
}

function showLogin(message) {
  if (timer) clearInterval(timer);
  timer = null;
  document.getElementById("app").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("updated").textContent = "";
}

function showApp(me) {
  csrf = me.csrf_token;
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = `${me.display_name} (${me.roles.join(", ")}) · ${me.commune_id}`;
  const refusal = document.getElementById("video-refusal");
  refusal.hidden = me.video_access || !me.video_refusal;
  refusal.textContent = me.video_refusal ? `Video: ${me.video_refusal}` : "";
  document.getElementById("alerts").closest("section").hidden = !me.permissions.includes("read_alerts");
  refresh();
  timer = setInterval(refresh, 2000);
}

async function decide(alert, action, verdict) {
  const body = action === "dismiss" ? { verdict } : {};
  try {
    await api("POST", `/api/alerts/${alert.id}/${action}`, body);
  } catch (err) {
    document.getElementById("updated").textContent = `alert #${alert.id}: ${err.message}`;
  }
  refresh();
}

function decisionCell(tr, alert, canDecide) {
  const td = cell(tr, "");
  if (!canDecide) return;
  const buttons = [
    ["Confirm", "confirm", null],
    ["False positive", "dismiss", "false_positive"],
    ["Nothing to do", "dismiss", "not_actionable"],
  ];
  for (const [label, action, verdict] of buttons) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.action = action;
    button.addEventListener("click", () => decide(alert, action, verdict));
    td.appendChild(button);
  }
}

let permissions = [];

async function refresh() {
  try {
    const reads = [api("GET", "/api/cameras"), api("GET", "/api/events?limit=20")];
    const readAlerts = permissions.includes("read_alerts");
    if (readAlerts) reads.push(api("GET", "/api/alerts?state=pending&limit=50"));
    const [cams, events, alerts] = await Promise.all(reads);
    fill("cameras", cams, (tr, c) => {
      cell(tr, `${c.name} (${c.id})`);
      cell(tr, c.commune_id);
      cell(tr, c.kind + (c.simulated ? " · simulated" : ""));
      cell(tr, c.state, `state state-${c.state}`);
      cell(tr, c.reason);
      cell(tr, c.fps_in.toFixed(1));
    });
    fill("events", events.items, (tr, e) => {
      const secs = (new Date(e.ended_at) - new Date(e.started_at)) / 1000;
      cell(tr, String(e.id));
      cell(tr, e.camera_id);
      cell(tr, e.kind);
      cell(tr, e.started_at.replace("T", " ").slice(0, 19));
      cell(tr, `${secs.toFixed(1)} s`);
      cell(tr, e.score.toFixed(2));
    });
    if (readAlerts) {
      const canDecide = permissions.includes("decide_alerts");
      fill("alerts", alerts.items, (tr, a) => {
        tr.dataset.alert = String(a.id);
        cell(tr, String(a.id));
        cell(tr, a.camera_id);
        cell(tr, a.kind);
        cell(tr, a.at.replace("T", " ").slice(0, 19));
        cell(tr, a.score.toFixed(2));
        decisionCell(tr, a, canDecide);
      });
    }
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err instanceof NotLoggedIn) showLogin("Your session has ended: log in again.");
    else document.getElementById("updated").textContent = `cannot reach the API: ${err.message}`;
  }
}

async function start() {
  try {
    const me = await api("GET", "/api/auth/me");
    permissions = me.permissions;
    showApp(me);
  } catch (err) {
    showLogin(err instanceof NotLoggedIn ? "" : `cannot reach the API: ${err.message}`);
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
    permissions = me.permissions;
    showApp(me);
  } catch (err) {
    document.getElementById("login-error").textContent = err.message;
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

start();
