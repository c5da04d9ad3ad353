// The access requests view (issue 23, L19, docs/privacy.md#access-requests): a filmed person's request for the
// footage of themselves, recorded with the identity check, answered within one month (the deadline always in view),
// by a copy in which every other person and every vehicle is blurred, reviewed frame by frame by a second person,
// then released as a signed package — or refused with a legal reason.
//
// The copy is made by the server (the detector plus tracking, docs/privacy.md); the page lets the person who prepares
// it draw, on the original footage paused where the requester is, the regions to keep clear and any third party the
// detector missed, and lets the reviewer step through every frame of the redacted copy: a frame counts as seen when
// the video presented it (requestVideoFrameCallback while playing, or after a step), and the approval stays disabled
// until every frame of every file was seen. The server checks it again (frames_reviewed) and refuses a reviewer who
// prepared the copy.

import { api, can, cameraName, cell, el, failed, fill, NotLoggedIn, state } from "./app.js";
import { formatTime, t } from "./i18n.js";
import { fromParisWallClock, parisDay, parisWallClock } from "./time.js";

const POLL_MS = 1000; // how often a copy being prepared is asked where it stands
const SVG = "http://www.w3.org/2000/svg";
const MIN_BOX = 0.01; // a drawn box narrower or lower than this (a click) is ignored

const current = { request: null, timer: null, boxes: [], review: null };

function refused(err, where) {
  if (err instanceof NotLoggedIn) failed(err);
  else document.getElementById(where).textContent = err.message;
}

function deadlineText(r) {
  const key = r.days_left < 0 ? "access.overdue" : "access.due";
  return t(key, { date: r.deadline, days: Math.abs(r.days_left) });
}

function deadlineClass(r) {
  if (r.days_left < 0) return "overdue";
  return r.due_soon ? "due-soon" : "";
}

// --- the list and the form that records a request -------------------------------------------------------------------

async function showList() {
  document.getElementById("access-list-page").hidden = false;
  document.getElementById("access-page").hidden = true;
  const received = document.getElementById("access-received-on");
  if (!received.value) received.value = parisDay(new Date());
  received.max = parisDay(new Date());
  try {
    const items = await api("GET", "/api/access-requests");
    document.getElementById("access-list-note").textContent = items.length ? "" : t("access.none");
    fill("access-requests", items, (tr, r) => {
      tr.dataset.request = String(r.id);
      tr.dataset.state = r.state;
      tr.className = "clickable";
      tr.tabIndex = 0;
      tr.addEventListener("click", () => { location.hash = `#/access/${r.id}`; });
      cell(tr, r.received_on);
      cell(tr, r.requester_name);
      cell(tr, t(`access.state_${r.state}`), `state access-${r.state}`);
      cell(tr, r.deadline);
      const ended = r.state === "released" || r.state === "refused";
      cell(tr, ended ? "—" : String(r.days_left), ended ? "" : deadlineClass(r));
    });
    const open = items.filter((r) => r.state !== "released" && r.state !== "refused");
    const overdue = open.filter((r) => r.days_left < 0).length;
    const soon = open.filter((r) => r.due_soon && r.days_left >= 0).length;
    const reminders = document.getElementById("access-reminders");
    reminders.hidden = !overdue && !soon;
    reminders.textContent = reminders.hidden ? "" : t("access.reminders", { soon, overdue });
  } catch (err) {
    refused(err, "access-error");
  }
}

document.getElementById("access-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("access-error");
  error.textContent = "";
  const value = (id) => document.getElementById(id).value;
  try {
    const made = await api("POST", "/api/access-requests", {
      requester_name: value("access-name"),
      requester_contact: value("access-contact"),
      identity_document: value("access-document"),
      identity_checked_by: value("access-checked-by"),
      received_on: value("access-received-on"),
      description: value("access-description"),
    });
    event.target.reset();
    location.hash = `#/access/${made.id}`;
  } catch (err) {
    refused(err, "access-error");
  }
});

// --- a request's page ---------------------------------------------------------------------------------------------

async function load(id) {
  const r = await api("GET", `/api/access-requests/${encodeURIComponent(id)}`);
  current.request = r;
  return r;
}

async function showRequest(id) {
  document.getElementById("access-list-page").hidden = true;
  document.getElementById("access-page").hidden = false;
  document.getElementById("access-action-error").textContent = "";
  let r;
  try {
    r = await load(id);
  } catch (err) {
    refused(err, "access-action-error");
    document.getElementById("access-title").textContent = "";
    return;
  }
  current.boxes = r.scope ? [...r.scope.keep_clear.map((b) => ({ ...b, kind: "keep_clear" })), ...r.scope.manual.map((b) => ({ ...b, kind: "manual" }))] : [];
  current.review = null;
  render(r);
}

function render(r) {
  const ended = r.state === "released" || r.state === "refused";
  document.getElementById("access-title").textContent = t("access.request_title", { id: r.id, name: r.requester_name });
  const deadline = document.getElementById("access-deadline");
  deadline.textContent = ended ? t(`access.state_${r.state}`) : deadlineText(r);
  deadline.className = ended ? "" : `deadline ${deadlineClass(r)}`;
  deadline.dataset.daysLeft = String(r.days_left);
  const details = document.getElementById("access-details");
  const row = (key, value) => [el("dt", { text: t(key) }), el("dd", { text: value })];
  const scope = r.scope ? `${r.scope.cameras.map(cameraName).join(", ")} · ${formatTime(r.scope.start)} – ${formatTime(r.scope.end)}` : "—";
  details.replaceChildren(
    ...row("col.state", t(`access.state_${r.state}`)),
    ...row("access.received_on", r.received_on),
    ...row("access.contact", r.requester_contact),
    ...row("access.document", `${t(`access.doc_${r.identity_document}`)} — ${r.identity_checked_by}`),
    ...row("access.description", r.description),
    ...row("access.scope", scope),
    ...(r.extended_because ? row("access.extended", r.extended_because) : []),
    ...(r.review && !r.review.approved ? row("access.sent_back", `${r.review.reviewer}: ${r.review.comment || "—"}`) : []),
    ...(r.refusal ? row("access.refusal", `${t(`access.reason_${r.refusal.reason}`)} — ${r.refusal.explanation}`) : []),
  );
  const mayScope = ["received", "in_review", "approved"].includes(r.state);
  const form = document.getElementById("access-scope-form");
  form.hidden = !mayScope;
  if (mayScope) fillScope(r);
  document.getElementById("access-other-actions").hidden = ended;
  document.getElementById("access-extend-form").hidden = Boolean(r.extended_because);
  renderCopy(r);
  renderReview(r);
  renderRelease(r);
}

function fillScope(r) {
  const cameras = document.getElementById("access-cameras");
  const chosen = new Set(r.scope ? r.scope.cameras : [...cameras.selectedOptions].map((o) => o.value));
  cameras.replaceChildren(...state.cameras.map((c) => el("option", { value: c.id, text: `${c.name} (${c.id})`, selected: chosen.has(c.id) })));
  const start = document.getElementById("access-start");
  const end = document.getElementById("access-end");
  if (r.scope) {
    start.value = parisWallClock(new Date(r.scope.start));
    end.value = parisWallClock(new Date(r.scope.end));
  } else {
    if (!end.value) end.value = parisWallClock(new Date());
    if (!start.value) start.value = parisWallClock(new Date(Date.now() - 3600000));
  }
}

document.getElementById("access-scope-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const r = current.request;
  document.getElementById("access-action-error").textContent = "";
  try {
    const updated = await api("POST", `/api/access-requests/${r.id}/scope`, {
      cameras: [...document.getElementById("access-cameras").selectedOptions].map((o) => o.value),
      start: fromParisWallClock(document.getElementById("access-start").value).toISOString(),
      end: fromParisWallClock(document.getElementById("access-end").value).toISOString(),
    });
    current.request = updated;
    current.boxes = [];
    render(updated);
  } catch (err) {
    refused(err, "access-action-error");
  }
});

// --- preparing the copy: the original footage, boxes drawn on it -------------------------------------------------

function renderCopy(r) {
  const part = document.getElementById("access-copy-part");
  part.hidden = !r.scope || r.state === "released" || r.state === "refused";
  const preparing = r.state === "preparing";
  const prepare = document.getElementById("access-prepare");
  prepare.hidden = !["received", "in_review"].includes(r.state) || !r.scope;
  prepare.textContent = t(r.copy ? "access.prepare_again" : "access.prepare");
  const progress = document.getElementById("access-progress");
  progress.dataset.state = r.state;
  if (preparing) {
    const p = r.progress;
    progress.textContent = p && p.total ? t("access.preparing_progress", { done: p.done, total: p.total }) : t("access.preparing");
    clearTimeout(current.timer);
    current.timer = setTimeout(() => poll(r.id), POLL_MS);
  } else {
    progress.textContent = r.copy_error ? t("access.copy_failed", { error: r.copy_error }) : "";
    progress.className = r.copy_error ? "error" : "";
  }
  const files = document.getElementById("access-copy-files");
  files.textContent = r.copy ? t("access.copy_ready", { files: r.copy.files.length, frames: r.copy.frames, detector: r.copy.detector, by: r.copy.prepared_by }) : "";
  const original = document.getElementById("access-original-part");
  original.hidden = !r.copy || preparing;
  if (r.copy && !preparing) showOriginal(r);
  drawBoxList();
}

async function poll(id) {
  if (!current.request || String(current.request.id) !== String(id)) return;
  try {
    const r = await load(id);
    render(r);
  } catch (err) {
    refused(err, "access-action-error");
  }
}

function showOriginal(r) {
  const select = document.getElementById("access-original-file");
  const chosen = select.value;
  select.replaceChildren(...r.copy.files.map((f) => el("option", { value: f.camera_id, text: `${cameraName(f.camera_id)} (${f.name})`, selected: f.camera_id === chosen })));
  loadOriginal();
}

function loadOriginal() {
  const r = current.request;
  const camera = document.getElementById("access-original-file").value;
  const video = document.getElementById("access-original");
  const src = `/api/access-requests/${r.id}/original/${encodeURIComponent(camera)}`;
  if (video.getAttribute("src") !== src) video.src = src;
  drawBoxesOnStage();
}

document.getElementById("access-original-file").addEventListener("change", loadOriginal);
const originalVideo = document.getElementById("access-original");
const originalSeek = document.getElementById("access-original-seek");
function originalMoved() {
  // the overlay of boxes covers the picture exactly: the video has no controls of its own over it, these are below
  originalSeek.max = String(Number.isFinite(originalVideo.duration) ? originalVideo.duration : 0);
  originalSeek.value = String(originalVideo.currentTime);
  document.getElementById("access-original-time").textContent = `${originalVideo.currentTime.toFixed(1)} s`;
  drawBoxesOnStage();
}
for (const name of ["timeupdate", "seeked", "loadedmetadata"]) originalVideo.addEventListener(name, originalMoved);
originalSeek.addEventListener("input", () => { originalVideo.pause(); originalVideo.currentTime = Number(originalSeek.value); });
document.getElementById("access-original-play").addEventListener("click", () => {
  if (originalVideo.paused) originalVideo.play();
  else originalVideo.pause();
});

function stagePoint(event) {
  const svg = document.getElementById("access-draw");
  const box = svg.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
}

let drag = null;
const draw = document.getElementById("access-draw");
draw.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  document.getElementById("access-original").pause();
  drag = { from: stagePoint(event), shape: document.createElementNS(SVG, "rect") };
  drag.shape.setAttribute("class", `drawing ${document.getElementById("access-box-kind").value}`);
  draw.append(drag.shape);
  draw.setPointerCapture(event.pointerId);
});
draw.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const [x, y] = stagePoint(event);
  const [x0, y0] = drag.from;
  for (const [k, v] of [["x", Math.min(x, x0)], ["y", Math.min(y, y0)], ["width", Math.abs(x - x0)], ["height", Math.abs(y - y0)]]) {
    drag.shape.setAttribute(k, String(v));
  }
});
draw.addEventListener("pointerup", (event) => {
  if (!drag) return;
  const [x, y] = stagePoint(event);
  const [x0, y0] = drag.from;
  drag.shape.remove();
  drag = null;
  if (Math.abs(x - x0) < MIN_BOX || Math.abs(y - y0) < MIN_BOX) return;
  const video = document.getElementById("access-original");
  const span = Number(document.getElementById("access-box-span").value) || 0;
  const start = Math.round(video.currentTime * 10) / 10;
  current.boxes.push({
    kind: document.getElementById("access-box-kind").value,
    camera_id: document.getElementById("access-original-file").value,
    x1: Math.min(x, x0), y1: Math.min(y, y0), x2: Math.max(x, x0), y2: Math.max(y, y0),
    start_s: start,
    end_s: span > 0 ? start + span : null,
  });
  drawBoxList();
});

function drawBoxesOnStage() {
  // the boxes of the shown camera that cover the video's current instant, over it
  const video = document.getElementById("access-original");
  const camera = document.getElementById("access-original-file").value;
  const at = video.currentTime || 0;
  const shown = current.boxes.filter((b) => b.camera_id === camera && b.start_s <= at && (b.end_s === null || at < b.end_s));
  draw.replaceChildren(...shown.map((b) => {
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", b.kind);
    for (const [k, v] of [["x", b.x1], ["y", b.y1], ["width", b.x2 - b.x1], ["height", b.y2 - b.y1]]) rect.setAttribute(k, String(v));
    return rect;
  }));
}

function span(b) {
  return b.end_s === null || b.end_s === undefined ? t("access.span_to_end", { from: b.start_s }) : t("access.span", { from: b.start_s, to: b.end_s });
}

function drawBoxList() {
  const list = document.getElementById("access-boxes");
  const editable = current.request && ["received", "in_review"].includes(current.request.state);
  list.replaceChildren(...current.boxes.map((b, i) => el("li", { dataset: { kind: b.kind, camera: b.camera_id } },
    `${t(`access.${b.kind}`)} · ${cameraName(b.camera_id)} · ${span(b)} `,
    editable ? el("button", { type: "button", text: t("access.remove_box"), onclick: () => { current.boxes.splice(i, 1); drawBoxList(); } }) : null)));
  drawBoxesOnStage();
}

document.getElementById("access-prepare").addEventListener("click", async () => {
  const r = current.request;
  document.getElementById("access-action-error").textContent = "";
  const strip = ({ kind, ...box }) => box;
  try {
    const updated = await api("POST", `/api/access-requests/${r.id}/copy`, {
      keep_clear: current.boxes.filter((b) => b.kind === "keep_clear").map(strip),
      manual: current.boxes.filter((b) => b.kind === "manual").map(strip),
    });
    current.request = updated;
    current.review = null;
    render(updated);
  } catch (err) {
    refused(err, "access-action-error");
  }
});

// --- the review: every frame of every file seen ------------------------------------------------------------------

function renderReview(r) {
  const part = document.getElementById("access-review-part");
  part.hidden = r.state !== "in_review" || !r.copy;
  if (part.hidden) return;
  const mine = r.copy.prepared_by === state.me.username;
  document.getElementById("access-review-waiting").hidden = !mine;
  document.getElementById("access-review-body").hidden = mine;
  if (mine) return;
  const key = `${r.id}:${r.copy.source_manifest_sha256}:${r.copy.files.map((f) => f.sha256).join(",")}`;
  if (!current.review || current.review.key !== key) {
    current.review = { key, seen: new Map(r.copy.files.map((f) => [f.name, new Set()])), fps: new Map(), file: r.copy.files[0].name };
    const select = document.getElementById("access-review-file");
    select.replaceChildren(...r.copy.files.map((f) => el("option", { value: f.name, text: `${cameraName(f.camera_id)} (${f.name})` })));
    loadReviewFile();
  }
  countReview();
}

function reviewFile() {
  return current.request.copy.files.find((f) => f.name === current.review.file);
}

async function loadReviewFile() {
  const r = current.request;
  const file = document.getElementById("access-review-file").value;
  current.review.file = file;
  const video = document.getElementById("access-review-video");
  const base = `/api/access-requests/${r.id}/copy/${encodeURIComponent(file)}`;
  if (!current.review.fps.has(file)) {
    try {
      const boxes = await api("GET", `${base}/boxes`);
      current.review.fps.set(file, boxes.fps);
    } catch (err) {
      refused(err, "access-action-error");
      return;
    }
  }
  video.src = base;
  watchFrames(video);
  countReview();
}

document.getElementById("access-review-file").addEventListener("change", loadReviewFile);

function frameAt(video) {
  const fps = current.review.fps.get(current.review.file) || 25;
  return Math.min(reviewFile().frames - 1, Math.max(0, Math.floor(video.currentTime * fps + 1e-3)));
}

function markSeen(index) {
  current.review.seen.get(current.review.file).add(index);
  countReview();
}

function watchFrames(video) {
  // requestVideoFrameCallback: called for each frame the video presents, with its media time
  const fps = () => current.review.fps.get(current.review.file) || 25;
  const onFrame = (_now, meta) => {
    if (!current.review) return;
    markSeen(Math.min(reviewFile().frames - 1, Math.round(meta.mediaTime * fps())));
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

document.getElementById("access-review-video").addEventListener("seeked", (event) => markSeen(frameAt(event.target)));

function step(delta) {
  const video = document.getElementById("access-review-video");
  video.pause();
  const fps = current.review.fps.get(current.review.file) || 25;
  const target = Math.min(reviewFile().frames - 1, Math.max(0, frameAt(video) + delta));
  video.currentTime = (target + 0.5) / fps; // the middle of the frame's display time: that frame, whatever rounding
}

document.getElementById("access-review-prev").addEventListener("click", () => step(-1));
document.getElementById("access-review-next").addEventListener("click", () => step(1));
document.getElementById("access-review-play").addEventListener("click", () => {
  const video = document.getElementById("access-review-video");
  if (video.paused) {
    if (video.ended) video.currentTime = 0;
    video.playbackRate = 1;
    video.play();
  } else video.pause();
});
document.getElementById("access-review-unseen").addEventListener("click", () => {
  const file = reviewFile();
  const seen = current.review.seen.get(file.name);
  for (let i = 0; i < file.frames; i += 1) {
    if (!seen.has(i)) {
      const video = document.getElementById("access-review-video");
      video.pause();
      video.currentTime = (i + 0.5) / (current.review.fps.get(file.name) || 25);
      return;
    }
  }
  // this file is seen whole: the next file with frames not seen
  const next = current.request.copy.files.find((f) => current.review.seen.get(f.name).size < f.frames);
  if (next) {
    document.getElementById("access-review-file").value = next.name;
    loadReviewFile();
  }
});

function countReview() {
  const r = current.request;
  if (!r || !r.copy || !current.review) return;
  const seen = [...current.review.seen.values()].reduce((n, s) => n + s.size, 0);
  const count = document.getElementById("access-review-count");
  count.textContent = t("access.frames_seen", { seen, total: r.copy.frames });
  count.dataset.seen = String(seen);
  count.dataset.total = String(r.copy.frames);
  document.getElementById("access-approve").disabled = seen < r.copy.frames;
  const video = document.getElementById("access-review-video");
  const file = reviewFile();
  if (file) document.getElementById("access-review-frame").textContent = t("access.frame", { index: frameAt(video) + 1, total: file.frames });
}

async function decide(approved) {
  const r = current.request;
  document.getElementById("access-action-error").textContent = "";
  const seen = [...current.review.seen.values()].reduce((n, s) => n + s.size, 0);
  try {
    const updated = await api("POST", `/api/access-requests/${r.id}/review`, {
      approved,
      frames_reviewed: seen,
      comment: document.getElementById("access-review-comment").value,
    });
    document.getElementById("access-review-video").pause();
    current.request = updated;
    render(updated);
  } catch (err) {
    refused(err, "access-action-error");
  }
}

document.getElementById("access-approve").addEventListener("click", () => decide(true));
document.getElementById("access-reject").addEventListener("click", () => decide(false));

// --- release, refusal, extension -----------------------------------------------------------------------------------

function renderRelease(r) {
  document.getElementById("access-release-part").hidden = !["approved", "released"].includes(r.state);
  document.getElementById("access-release").hidden = r.state !== "approved";
  const pkg = document.getElementById("access-package");
  pkg.hidden = !r.release;
  if (r.release) {
    const link = document.getElementById("access-package-link");
    link.href = `/api/access-requests/${r.id}/package`;
    link.setAttribute("download", r.release.package_name);
    document.getElementById("access-package-sha").textContent = t("access.package_sha", { sha: r.release.package_sha256, key: r.release.key_id });
  }
}

async function act(path, body) {
  const r = current.request;
  document.getElementById("access-action-error").textContent = "";
  try {
    const updated = await api("POST", `/api/access-requests/${r.id}/${path}`, body);
    current.request = updated;
    render(updated);
    return true;
  } catch (err) {
    refused(err, "access-action-error");
    return false;
  }
}

document.getElementById("access-release").addEventListener("click", () => act("release", {}));
document.getElementById("access-refuse-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ok = await act("refuse", {
    reason: document.getElementById("access-refuse-reason").value,
    explanation: document.getElementById("access-refuse-explanation").value,
  });
  if (ok) event.target.reset();
});
document.getElementById("access-extend-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ok = await act("extend", { reason: document.getElementById("access-extend-reason").value });
  if (ok) event.target.reset();
});

// --- the view ------------------------------------------------------------------------------------------------------

export const access = {
  allowed: () => can("handle_access_requests"),
  enter(args) {
    clearTimeout(current.timer);
    if (args[0]) showRequest(args[0]);
    else {
      current.request = null;
      showList();
    }
  },
  leave() {
    clearTimeout(current.timer);
    current.request = null;
    current.review = null;
    for (const id of ["access-original", "access-review-video"]) document.getElementById(id).pause();
  },
};
