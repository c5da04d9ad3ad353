// The camera tree (issue 24): how an operator finds one camera among the métropole's 4,891 — commune → site →
// camera, their own favourites and groups (kept by the server: GET/PUT/POST/PATCH/DELETE /api/me/camera-groups),
// and a search by name, address, tag or id that answers at each key pressed.
//
// Why it is built this way:
// - One search index per camera list (a folded text per camera: accents and case removed, punctuation as spaces),
//   rebuilt only for cameras whose identity changed; the state changes the feed merges every few seconds only
//   redraw the rows shown. A query is a few substring tests per camera: ~1 ms for 4,891, so nothing is debounced.
// - The list is virtualised: only the rows in view (and the active one) are in the page, each ROW_PX high, whatever
//   the number of cameras found or unfolded.
// - A WAI-ARIA tree (one tab stop, aria-activedescendant): ↑/↓ move, → unfolds or goes to the first child, ← folds
//   or goes to the parent, Home/End, Enter opens a camera (or folds/unfolds a branch), "f" stars the camera.
// - Opening a camera dispatches the cancelable "vigie:open-camera" on window (the layouts put it in their selected
//   tile and cancel it); nobody cancelled it: the single view, #/live/<id>. Dragging a camera carries its id as
//   "text/x-vigie-camera" (and text/plain).

import { api, el, failed, state, status } from "./app.js";
import { language, t } from "./i18n.js";
import { shortcut } from "./keys.js";

const ROW_PX = 30;
const OVERSCAN = 8;
const CAMERA_TYPE = "text/x-vigie-camera";

export function fold(text) {
  return (text || "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

function identity(camera) {
  const address = camera.location && camera.location.address ? camera.location.address : "";
  return [camera.id, camera.name, address, (camera.tags || []).join(" "), camera.site_name, camera.commune_name].join("\u0001");
}

let mounted = null;

export function mountTree(container, options = {}) {
  // once per page: mounted again only to speak another language (the person chose it in the header)
  if (mounted && mounted.container === container) {
    if (mounted.language !== language()) mounted.relabel();
    return mounted;
  }
  mounted = new CameraTree(container, options);
  return mounted;
}

class CameraTree {
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.index = new Map(); // id → { key, text, name }
    this.byId = new Map();
    this.listKey = "";
    this.branches = []; // [{ commune, name, sites: [{ id, name, cameras: [id] }] }]
    this.expanded = new Set(["fav"]);
    this.query = "";
    this.found = [];
    this.rows = [];
    this.active = 0;
    this.favourites = [];
    this.groups = [];
    this.language = language();
    this.build();
    this.update();
    this.loadGroups();
    window.addEventListener("vigie:cameras", () => this.update());
    shortcut(["/"], "tree.key_search", () => this.search.focus(), {
      when: () => !this.container.closest("[hidden]") && this.container.isConnected,
    });
  }

  // --- the page's parts ---------------------------------------------------------------------------------------

  relabel() {
    const query = this.search.value;
    this.language = language();
    this.build();
    this.search.value = query;
    this.layout();
  }

  build() {
    const c = this.container;
    c.replaceChildren();
    this.search = el("input", {
      type: "search", id: "tree-search", autocomplete: "off", spellcheck: "false",
      "aria-label": t("tree.search"), placeholder: t("tree.search_hint"), "aria-controls": "tree-list",
      oninput: () => this.onQuery(),
      onkeydown: (e) => { if (e.key === "ArrowDown") { e.preventDefault(); this.list.focus(); } },
    });
    this.count = el("p", { class: "tree-count", id: "tree-count", "aria-live": "polite" });
    this.list = el("ul", {
      role: "tree", id: "tree-list", class: "tree-list", tabindex: "0", "aria-label": t("tree.title"),
      onkeydown: (e) => this.onKey(e),
      onclick: (e) => {
        const item = e.target.closest("li[data-index]");
        if (item && !e.target.closest("button")) this.clicked(Number(item.dataset.index), e);
      },
    });
    this.scroller = el("div", { class: "tree-scroll", onscroll: () => this.schedule() }, this.list);
    this.actions = el("div", { class: "tree-actions", role: "group", "aria-label": t("tree.actions") });
    c.append(el("h2", { class: "tree-title", text: t("tree.title") }), this.search, this.count, this.scroller, this.actions);
    this.buildActions();
  }

  buildActions() {
    this.star = el("button", { type: "button", id: "tree-star", onclick: () => this.toggleFavourite(this.activeCamera()) });
    this.groupChoice = el("select", { id: "tree-group-choice", "aria-label": t("tree.choose_group") });
    this.addToGroup = el("button", { type: "button", id: "tree-add-to-group", text: t("tree.add_to_group"),
      onclick: () => this.addCamera(Number(this.groupChoice.value), this.activeCamera()) });
    this.removeFromGroup = el("button", { type: "button", id: "tree-remove-from-group", text: t("tree.remove_from_group"),
      onclick: () => this.removeCamera() });
    this.groupName = el("input", { type: "text", id: "tree-group-name", maxlength: "80", "aria-label": t("tree.group_name"),
      placeholder: t("tree.group_name") });
    this.newGroup = el("button", { type: "button", id: "tree-new-group", text: t("tree.new_group"), onclick: () => this.makeGroup() });
    this.renameGroup = el("button", { type: "button", id: "tree-rename-group", text: t("tree.rename_group"), onclick: () => this.rename() });
    this.deleteGroup = el("button", { type: "button", id: "tree-delete-group", text: t("tree.delete_group"), onclick: () => this.remove() });
    this.actions.append(
      el("p", { class: "tree-camera-actions" }, this.star, this.groupChoice, this.addToGroup, this.removeFromGroup),
      el("p", { class: "tree-group-actions" }, this.groupName, this.newGroup, this.renameGroup, this.deleteGroup),
    );
    this.showActions();
  }

  showActions() {
    const row = this.rows[this.active];
    const camera = this.activeCamera();
    const starred = camera && this.favourites.includes(camera);
    this.star.hidden = !camera;
    this.star.textContent = starred ? `★ ${t("tree.unstar")}` : `☆ ${t("tree.star")}`;
    this.star.setAttribute("aria-pressed", starred ? "true" : "false");
    const others = this.groups.filter((g) => camera && !g.cameras.includes(camera));
    this.groupChoice.replaceChildren(...others.map((g) => el("option", { value: String(g.id), text: g.name })));
    this.groupChoice.hidden = this.addToGroup.hidden = !camera || others.length === 0;
    this.removeFromGroup.hidden = !(row && row.kind === "camera" && row.group);
    const group = row && row.kind === "group" ? row.group : null;
    this.renameGroup.hidden = this.deleteGroup.hidden = !group;
  }

  // --- the camera list: index and branches, rebuilt only when identities change --------------------------------

  update() {
    const cameras = state.cameras || [];
    this.byId = new Map(cameras.map((c) => [c.id, c]));
    let changed = cameras.length !== this.index.size;
    const seen = new Set();
    for (const camera of cameras) {
      seen.add(camera.id);
      const key = identity(camera);
      const known = this.index.get(camera.id);
      if (known && known.key === key) continue;
      changed = true;
      this.index.set(camera.id, { key, text: ` ${fold(key)} `, name: ` ${fold(camera.name)}` });
    }
    for (const id of [...this.index.keys()]) if (!seen.has(id)) this.index.delete(id);
    if (changed) this.branch(cameras);
    if (this.query) this.found = this.match(this.query);
    this.layout();
  }

  branch(cameras) {
    const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
    const communes = new Map();
    for (const camera of cameras) {
      let commune = communes.get(camera.commune_id);
      if (!commune) {
        commune = { id: camera.commune_id, name: camera.commune_name || camera.commune_id, sites: new Map() };
        communes.set(camera.commune_id, commune);
      }
      let site = commune.sites.get(camera.site_id);
      if (!site) {
        site = { id: camera.site_id, name: camera.site_name || camera.site_id, cameras: [] };
        commune.sites.set(camera.site_id, site);
      }
      site.cameras.push(camera.id);
    }
    const byName = (a, b) => collator.compare(a.name, b.name);
    const nameOf = (id) => (this.byId.get(id) || { name: id }).name;
    this.branches = [...communes.values()].sort(byName).map((commune) => ({
      ...commune,
      sites: [...commune.sites.values()].sort(byName).map((site) => ({
        ...site, cameras: site.cameras.sort((a, b) => collator.compare(nameOf(a), nameOf(b))),
      })),
    }));
    if (this.branches.length === 1) this.expanded.add(`c:${this.branches[0].id}`);
  }

  match(query) {
    // every word of the query starts a word of the camera's name, address, tags, id, site or commune ("gare" finds
    // "Place de la Gare", "0042" finds "tc-0042"); the cameras whose name holds the words first
    const words = fold(query).split(" ").filter(Boolean).map((w) => ` ${w}`); // at the start of a word
    if (!words.length) return [];
    const byName = [];
    const others = [];
    for (const [id, entry] of this.index) {
      if (!words.every((w) => entry.text.includes(w))) continue;
      (words.every((w) => entry.name.includes(w)) ? byName : others).push(id);
    }
    return byName.concat(others);
  }

  onQuery() {
    this.query = this.search.value.trim();
    this.found = this.query ? this.match(this.query) : [];
    this.active = 0;
    this.scroller.scrollTop = 0;
    this.layout();
  }

  // --- rows: what is unfolded, flattened; only those in view are drawn ----------------------------------------

  layout() {
    const rows = [];
    if (this.query) {
      this.found.forEach((id, n) => rows.push({ kind: "camera", id, level: 1, pos: n + 1, size: this.found.length, key: `q:${id}` }));
      this.count.textContent = this.found.length ? t("tree.found", { count: this.found.length }) : t("tree.none");
    } else {
      this.count.textContent = t("tree.total", { count: this.index.size });
      const tops = 1 + this.groups.length + this.branches.length;
      let top = 0;
      const favourites = this.favourites.filter((id) => this.byId.has(id));
      this.folder(rows, { kind: "favourites", key: "fav", label: t("tree.favourites"), level: 1, pos: ++top, size: tops }, favourites, null);
      for (const group of this.groups) {
        const ids = group.cameras.filter((id) => this.byId.has(id));
        this.folder(rows, { kind: "group", key: `g:${group.id}`, label: group.name, group, level: 1, pos: ++top, size: tops }, ids, group);
      }
      for (const commune of this.branches) {
        const key = `c:${commune.id}`;
        const all = commune.sites.flatMap((s) => s.cameras);
        rows.push({ kind: "commune", key, label: commune.name, level: 1, pos: ++top, size: tops, expanded: this.expanded.has(key), ids: all });
        if (!this.expanded.has(key)) continue;
        commune.sites.forEach((site, n) => {
          const skey = `s:${commune.id}/${site.id}`;
          rows.push({ kind: "site", key: skey, label: site.name, level: 2, pos: n + 1, size: commune.sites.length, expanded: this.expanded.has(skey), ids: site.cameras });
          if (!this.expanded.has(skey)) return;
          site.cameras.forEach((id, m) => rows.push({ kind: "camera", id, level: 3, pos: m + 1, size: site.cameras.length, key: `${skey}/${id}` }));
        });
      }
    }
    const activeKey = this.rows[this.active] && this.rows[this.active].key;
    this.rows = rows;
    const again = activeKey ? rows.findIndex((r) => r.key === activeKey) : -1;
    this.active = again >= 0 ? again : Math.min(this.active, Math.max(0, rows.length - 1));
    this.list.style.height = `${rows.length * ROW_PX}px`;
    this.draw();
    this.showActions();
  }

  folder(rows, head, ids, group) {
    head.expanded = this.expanded.has(head.key);
    head.ids = ids;
    rows.push(head);
    if (!head.expanded) return;
    ids.forEach((id, n) => rows.push({ kind: "camera", id, level: 2, pos: n + 1, size: ids.length, key: `${head.key}/${id}`, group }));
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  draw() {
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((this.scroller.scrollTop + height) / ROW_PX) + OVERSCAN);
    const shown = [];
    for (let i = first; i < last; i++) shown.push(i);
    if (this.rows.length && (this.active < first || this.active >= last)) shown.push(this.active);
    // A row whose content is unchanged keeps its element (a click between a press and a release, while the feed
    // or a refresh redraws, lands on it), and the list is left alone when it holds the same elements.
    const kept = new Map();
    const items = shown.map((i) => {
      const sig = this.signature(i);
      const key = this.rows[i].key;
      const old = this.rendered && this.rendered.get(key);
      const item = old && old.sig === sig ? old.item : this.row(i);
      kept.set(key, { sig, item });
      return item;
    });
    this.rendered = kept;
    const children = this.list.children;
    if (children.length !== items.length || items.some((item, n) => children[n] !== item)) this.list.replaceChildren(...items);
    const active = this.rows[this.active];
    if (active) this.list.setAttribute("aria-activedescendant", rowId(this.active));
    else this.list.removeAttribute("aria-activedescendant");
  }

  signature(i) {
    const row = this.rows[i];
    const starred = row.kind === "camera" && this.favourites.includes(row.id);
    const camera = row.kind === "camera" ? this.byId.get(row.id) : null;
    const state = camera
      ? [camera.name, camera.state, camera.reason, camera.recording, camera.authorisation, (camera.analysis || []).join()]
      : [row.label, row.expanded, row.ids.length, row.ids.filter((id) => (this.byId.get(id) || {}).state === "offline").length];
    return JSON.stringify([i, i === this.active, row.pos, row.size, starred, Boolean(this.query), ...state]);
  }

  row(i) {
    const row = this.rows[i];
    const item = el("li", {
      role: "treeitem", id: rowId(i), class: `tree-row tree-${row.kind}${i === this.active ? " active" : ""}`,
      "aria-level": String(row.level), "aria-setsize": String(row.size), "aria-posinset": String(row.pos),
      "aria-selected": i === this.active ? "true" : "false",
      dataset: { key: row.key, index: String(i) },
    });
    item.style.top = `${i * ROW_PX}px`;
    item.style.paddingInlineStart = `${0.4 + (row.level - 1) * 1.1}rem`;
    if (row.kind === "camera") this.cameraRow(item, row);
    else this.branchRow(item, row);
    return item;
  }

  branchRow(item, row) {
    item.setAttribute("aria-expanded", row.expanded ? "true" : "false");
    const offline = row.ids.filter((id) => (this.byId.get(id) || {}).state === "offline").length;
    const count = offline ? t("tree.count_offline", { count: row.ids.length, offline }) : t("tree.count", { count: row.ids.length });
    item.append(
      el("span", { class: "tree-toggle", "aria-hidden": "true", text: row.expanded ? "▾" : "▸" }),
      el("span", { class: "tree-label", text: row.kind === "favourites" ? `★ ${row.label}` : row.label }),
      el("span", { class: `tree-meta${offline ? " tree-meta-offline" : ""}`, text: count }),
    );
    if (row.kind === "group") {
      item.addEventListener("dragover", (e) => { if (e.dataTransfer.types.includes(CAMERA_TYPE)) e.preventDefault(); });
      item.addEventListener("drop", (e) => {
        const id = e.dataTransfer.getData(CAMERA_TYPE);
        if (id) { e.preventDefault(); this.addCamera(row.group.id, id); }
      });
    }
  }

  cameraRow(item, row) {
    const camera = this.byId.get(row.id) || { id: row.id, name: row.id, state: "starting" };
    item.draggable = true;
    item.dataset.camera = camera.id;
    item.addEventListener("dragstart", (e) => {
      e.dataTransfer.setData(CAMERA_TYPE, camera.id);
      e.dataTransfer.setData("text/plain", camera.id);
      e.dataTransfer.effectAllowed = "copy";
    });
    const starred = this.favourites.includes(camera.id);
    item.append(
      el("span", { class: `tree-dot dot-${camera.state}`, "aria-hidden": "true" }),
      el("span", { class: "tree-label", text: camera.name }),
      el("span", { class: "visually-hidden", text: `, ${t(`state.${camera.state}`)}` }),
    );
    if (this.query) {
      const where = [camera.site_name, camera.commune_name].filter(Boolean).join(", ");
      if (where) item.append(el("span", { class: "tree-where", text: where }));
    }
    for (const badge of badges(camera)) {
      const long = badge.long !== badge.short ? el("span", { class: "visually-hidden", text: ` (${badge.long})` }) : null;
      item.append(el("span", { class: `tree-badge badge-${badge.kind}`, title: badge.long, text: badge.short }, long));
    }
    item.append(el("button", {
      type: "button", tabindex: "-1", class: `tree-star${starred ? " starred" : ""}`,
      "aria-label": starred ? t("tree.unstar") : t("tree.star"), "aria-pressed": starred ? "true" : "false",
      text: starred ? "★" : "☆",
      onclick: (e) => { e.stopPropagation(); this.toggleFavourite(camera.id); },
    }));
    item.title = [camera.name, camera.id, camera.location && camera.location.address, camera.reason].filter(Boolean).join(" · ");
  }

  // --- keyboard and pointer -----------------------------------------------------------------------------------

  clicked(i, event) {
    this.active = i;
    const row = this.rows[i];
    if (row.kind === "camera") {
      this.draw();
      this.showActions();
      this.open(row.id);
    } else {
      this.toggle(row);
    }
    if (event.detail !== 0) this.list.focus({ preventScroll: true });
  }

  onKey(event) {
    const row = this.rows[this.active];
    const move = (to) => { event.preventDefault(); this.moveTo(to); };
    switch (event.key) {
      case "ArrowDown": return move(this.active + 1);
      case "ArrowUp": return this.active === 0 ? (event.preventDefault(), this.search.focus()) : move(this.active - 1);
      case "Home": return move(0);
      case "End": return move(this.rows.length - 1);
      case "PageDown": return move(this.active + Math.floor(this.scroller.clientHeight / ROW_PX));
      case "PageUp": return move(this.active - Math.floor(this.scroller.clientHeight / ROW_PX));
      case "ArrowRight":
        event.preventDefault();
        if (!row || row.kind === "camera") return undefined;
        return row.expanded ? this.moveTo(this.active + 1) : this.toggle(row);
      case "ArrowLeft": {
        event.preventDefault();
        if (row && row.kind !== "camera" && row.expanded) return this.toggle(row);
        const parent = this.parentOf(this.active);
        return parent >= 0 ? this.moveTo(parent) : undefined;
      }
      case "Enter":
      case " ":
        event.preventDefault();
        if (!row) return undefined;
        return row.kind === "camera" ? this.open(row.id) : this.toggle(row);
      case "f":
        if (row && row.kind === "camera") { event.preventDefault(); this.toggleFavourite(row.id); }
        return undefined;
      default:
        return undefined;
    }
  }

  parentOf(i) {
    const level = this.rows[i] ? this.rows[i].level : 1;
    for (let j = i - 1; j >= 0; j--) if (this.rows[j].level < level) return j;
    return -1;
  }

  moveTo(i) {
    if (!this.rows.length) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, i));
    const top = this.active * ROW_PX;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_PX > this.scroller.scrollTop + this.scroller.clientHeight) {
      this.scroller.scrollTop = top + ROW_PX - this.scroller.clientHeight;
    }
    this.draw();
    this.showActions();
  }

  toggle(row) {
    if (this.expanded.has(row.key)) this.expanded.delete(row.key);
    else this.expanded.add(row.key);
    this.layout();
  }

  activeCamera() {
    const row = this.rows[this.active];
    return row && row.kind === "camera" ? row.id : null;
  }

  open(cameraId) {
    const event = new CustomEvent("vigie:open-camera", { detail: { camera: cameraId }, cancelable: true });
    if (window.dispatchEvent(event)) location.hash = `#/live/${encodeURIComponent(cameraId)}`;
  }

  // --- favourites and groups, kept by the server --------------------------------------------------------------

  async loadGroups() {
    try {
      const mine = await api("GET", "/api/me/camera-groups");
      this.favourites = mine.favourites;
      this.groups = mine.groups;
      this.layout();
    } catch (err) {
      failed(err);
    }
  }

  async change(action, done) {
    try {
      await action();
      if (done) status(done);
    } catch (err) {
      failed(err);
    }
    await this.loadGroups();
  }

  toggleFavourite(cameraId) {
    if (!cameraId) return;
    const starred = this.favourites.includes(cameraId);
    const cameras = starred ? this.favourites.filter((c) => c !== cameraId) : [...this.favourites, cameraId];
    const name = (this.byId.get(cameraId) || { name: cameraId }).name;
    this.change(() => api("PUT", "/api/me/camera-groups/favourites", { cameras }),
      t(starred ? "tree.unstarred" : "tree.starred", { camera: name }));
  }

  addCamera(groupId, cameraId) {
    const group = this.groups.find((g) => g.id === groupId);
    if (!group || !cameraId || group.cameras.includes(cameraId)) return;
    const name = (this.byId.get(cameraId) || { name: cameraId }).name;
    this.change(() => api("PATCH", `/api/me/camera-groups/${group.id}`, { cameras: [...group.cameras, cameraId] }),
      t("tree.added", { camera: name, group: group.name }));
  }

  removeCamera() {
    const row = this.rows[this.active];
    if (!row || row.kind !== "camera" || !row.group) return;
    const cameras = row.group.cameras.filter((c) => c !== row.id);
    this.change(() => api("PATCH", `/api/me/camera-groups/${row.group.id}`, { cameras }));
  }

  makeGroup() {
    const name = this.groupName.value.trim();
    if (!name) { this.groupName.focus(); return; }
    const camera = this.activeCamera();
    this.change(async () => {
      const group = await api("POST", "/api/me/camera-groups", { name, cameras: camera ? [camera] : [] });
      this.expanded.add(`g:${group.id}`);
      this.groupName.value = "";
    }, t("tree.group_made", { name }));
  }

  rename() {
    const row = this.rows[this.active];
    const name = this.groupName.value.trim();
    if (!row || row.kind !== "group") return;
    if (!name) { this.groupName.focus(); return; }
    this.change(async () => {
      await api("PATCH", `/api/me/camera-groups/${row.group.id}`, { name });
      this.groupName.value = "";
    }, t("tree.group_renamed", { name }));
  }

  remove() {
    const row = this.rows[this.active];
    if (!row || row.kind !== "group") return;
    this.change(() => api("DELETE", `/api/me/camera-groups/${row.group.id}`), t("tree.group_deleted", { name: row.group.name }));
  }
}

function rowId(i) {
  return `tree-row-${i}`;
}

export function badges(camera) {
  // What the operator must see at a glance besides the state dot: recording, the authorisation when it is not
  // in force (L1), the analysis running on it (L22), each with a short text and its long form for screen readers.
  const out = [];
  if (camera.state === "offline") out.push({ kind: "offline", short: t("state.offline"), long: camera.reason || t("state.offline") });
  if (camera.recording) out.push({ kind: "recording", short: t("tree.rec"), long: t("tree.recording") });
  const auth = camera.authorisation;
  if (auth && auth !== "valid" && auth !== "unknown") {
    out.push({ kind: auth === "expiring" ? "expiring" : "unauthorised", short: t(`tree.auth_${auth}`), long: t(`tree.auth_${auth}`) });
  }
  if (camera.analysis && camera.analysis.length) {
    out.push({ kind: "analysis", short: t("tree.analysis"), long: t("tree.analysis_long", { modules: camera.analysis.join(", ") }) });
  }
  return out;
}
