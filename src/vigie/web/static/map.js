// The map view (issue 24): the city's own basemap (MBTiles or PMTiles, served by this server's tile route, never a
// tile service elsewhere), the site plans people placed on it, and the cameras with their field of view — a dome's
// turned by the pan and zoom it reports, an offline camera and one with an alert waiting for a person drawn apart.
// Rendered with MapLibre GL, installed from npm by scripts/setup.sh (package-lock.json in src/vigie/web) and served
// under /static/vendor/; its CSP build runs its worker from this server, so the page's policy needs no blob: worker.
// Without the library (npm not run) or WebGL the view says so and the rest of the console works; without a
// basemap the plans and the cameras are drawn on a plain background.

import { api, can, el, failed, NotLoggedIn, state } from "./app.js";
import { t } from "./i18n.js";

const VENDOR = "/static/vendor/maplibre-gl";
const PTZ_POLL_MS = 2000; // a dome's direction on the map follows its reported position at this pace while shown
const EARTH_M_PER_DEG = 111320;
const ARC_STEPS = 24;

let library = null;

function loadLibrary() {
  // A classic script (MapLibre ships a UMD build), added once; a 404 (not installed) rejects.
  if (window.maplibregl) return Promise.resolve(window.maplibregl);
  if (!library) {
    library = new Promise((resolve, reject) => {
      document.head.append(el("link", { rel: "stylesheet", href: `${VENDOR}/maplibre-gl.css` }));
      const script = el("script", { src: `${VENDOR}/maplibre-gl-csp.js` });
      script.addEventListener("load", () => {
        window.maplibregl.setWorkerUrl(`${VENDOR}/maplibre-gl-csp-worker.js`);
        resolve(window.maplibregl);
      });
      script.addEventListener("error", () => {
        library = null;
        script.remove();
        reject(new Error("missing"));
      });
      document.head.append(script);
    });
  }
  return library;
}

function colour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888888";
}

// --- geometry: a field of view as a circle sector, in degrees around the camera (flat earth at a street's scale)

function offset(lon, lat, bearingDeg, metres) {
  const b = (bearingDeg * Math.PI) / 180;
  const dLat = (metres * Math.cos(b)) / EARTH_M_PER_DEG;
  const dLon = (metres * Math.sin(b)) / (EARTH_M_PER_DEG * Math.cos((lat * Math.PI) / 180));
  return [lon + dLon, lat + dLat];
}

function sector(camera, bearing, angle) {
  const ring = [];
  if (angle >= 360) {
    for (let i = 0; i <= ARC_STEPS * 2; i += 1) ring.push(offset(camera.lon, camera.lat, (360 * i) / (ARC_STEPS * 2), camera.range_m));
  } else {
    ring.push([camera.lon, camera.lat]);
    for (let i = 0; i <= ARC_STEPS; i += 1) {
      ring.push(offset(camera.lon, camera.lat, bearing - angle / 2 + (angle * i) / ARC_STEPS, camera.range_m));
    }
    ring.push([camera.lon, camera.lat]);
  }
  return { type: "Polygon", coordinates: [ring] };
}

function domeView(camera, position) {
  // As vigie.domain.ptz.DomeOptics: pan p is p × range / 2 degrees from the dome's reference (its heading);
  // the angle narrows with the zoom, the magnification growing geometrically from wide (0) to tele (1).
  const lens = camera.dome;
  const half = (deg) => Math.tan((deg * Math.PI) / 360);
  const magnification = half(lens.hfov_wide_deg) / half(lens.hfov_tele_deg);
  const angle = (2 * Math.atan(half(lens.hfov_wide_deg) / magnification ** position.zoom) * 180) / Math.PI;
  const bearing = ((camera.heading_deg || 0) + (position.pan * lens.pan_range_deg) / 2 + 360) % 360;
  return { bearing, angle };
}

// --- the view ----------------------------------------------------------------------------------------------------

export const mapView = {
  allowed: () => can("view_cameras"),
  map: null,
  config: null,
  alerted: new Set(),
  live: new Map(), // dome id -> { bearing, angle } as last reported
  domes: [],
  timer: null,
  popup: null,
  generation: 0,
  drawn: Promise.resolve(),

  async enter() {
    const mine = ++this.generation;
    if (this.popup) this.popup.remove();
    this.popup = null;
    document.getElementById("map-canvas").setAttribute("aria-label", t("map.canvas"));
    try {
      this.config = await api("GET", "/api/map");
      await this.loadAlerts();
      if (mine !== this.generation) return;
      this.renderSide();
      this.say();
      this.drawn = this.draw();
      await this.drawn;
      this.watchDomes();
    } catch (err) {
      failed(err);
    }
  },

  leave() {
    this.generation += 1;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  },

  async refresh() {
    await this.loadAlerts();
    this.update();
  },

  onCameras() {
    this.update();
  },

  onAlert(alert) {
    if (alert.state === "pending") this.alerted.add(alert.camera_id);
    else this.alerted.delete(alert.camera_id);
    this.update();
  },

  async loadAlerts() {
    if (!can("read_alerts")) return;
    try {
      const page = await api("GET", "/api/alerts?state=pending&limit=500");
      this.alerted = new Set(page.items.map((a) => a.camera_id));
    } catch (err) {
      failed(err);
    }
  },

  say(extra) {
    const lines = [];
    const basemap = this.config && this.config.basemap;
    if (this.config && this.config.basemap_error) lines.push(t("map.basemap_error", { error: this.config.basemap_error }));
    else if (this.config && !basemap) lines.push(t("map.no_basemap"));
    if (extra) lines.push(extra);
    document.getElementById("map-message").textContent = lines.join(" ");
  },

  cameras() {
    // what the map knows (position, field of view) joined with the live list (name, state)
    const known = new Map(state.cameras.map((c) => [c.id, c]));
    return (this.config ? this.config.cameras : [])
      .filter((c) => known.has(c.id))
      .map((c) => ({ ...c, info: known.get(c.id) }));
  },

  condition(camera) {
    if (this.alerted.has(camera.id)) return "alert";
    if (camera.info.state === "offline") return "offline";
    return camera.info.state === "online" ? "online" : "degraded";
  },

  features() {
    const fill = { alert: colour("--danger"), offline: colour("--muted"), online: colour("--accent"), degraded: colour("--warn") };
    const dot = { alert: colour("--danger"), offline: colour("--surface"), online: colour("--ok"), degraded: colour("--warn") };
    const ring = { alert: colour("--focus"), offline: colour("--danger"), online: colour("--surface"), degraded: colour("--surface") };
    const points = [];
    const cones = [];
    for (const camera of this.cameras()) {
      const condition = this.condition(camera);
      const properties = { id: camera.id, condition, fill: fill[condition], dot: dot[condition], ring: ring[condition] };
      points.push({ type: "Feature", geometry: { type: "Point", coordinates: [camera.lon, camera.lat] }, properties });
      const live = this.live.get(camera.id);
      const bearing = live ? live.bearing : camera.heading_deg;
      const angle = live ? live.angle : camera.fov_deg;
      if (bearing !== null && bearing !== undefined) cones.push({ type: "Feature", geometry: sector(camera, bearing, angle), properties });
      else if (angle >= 360) cones.push({ type: "Feature", geometry: sector(camera, 0, 360), properties });
    }
    return { points: { type: "FeatureCollection", features: points }, cones: { type: "FeatureCollection", features: cones } };
  },

  async draw() {
    const box = document.getElementById("map-canvas");
    let maplibregl;
    try {
      maplibregl = await loadLibrary();
    } catch (err) {
      box.replaceChildren(el("p", { class: "map-missing", text: t("map.library_missing") }));
      this.map = null;
      return;
    }
    if (this.map) {
      this.map.resize(); // the section was hidden: its size was zero
      this.syncPlans();
      this.update();
      return;
    }
    let style;
    try {
      style = await this.style();
    } catch (err) {
      this.say(t("map.style_failed", { message: err.message }));
      style = this.plainStyle();
    }
    try {
      // MapLibre's own controls, in the console's language
      const locale = {
        "Map.Title": t("map.canvas"),
        "NavigationControl.ZoomIn": t("map.zoom_in"),
        "NavigationControl.ZoomOut": t("map.zoom_out"),
        "NavigationControl.ResetBearing": t("map.reset_north"),
        "Popup.Close": t("map.close"),
      };
      this.map = new maplibregl.Map({ container: box, style, ...this.start(), attributionControl: false, maxZoom: 22, locale });
    } catch (err) {
      box.replaceChildren(el("p", { class: "map-missing", text: t("map.no_webgl", { message: err.message }) }));
      this.map = null;
      return;
    }
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    await new Promise((resolve) => this.map.once("load", resolve));
    const data = this.features();
    this.map.addSource("cones", { type: "geojson", data: data.cones });
    this.map.addSource("cameras", { type: "geojson", data: data.points });
    this.map.addLayer({ id: "cones", type: "fill", source: "cones", paint: { "fill-color": ["get", "fill"], "fill-opacity": 0.35 } });
    this.map.addLayer({ id: "cone-edges", type: "line", source: "cones", paint: { "line-color": ["get", "fill"], "line-width": 1.5 } });
    this.map.addLayer({
      id: "cameras",
      type: "circle",
      source: "cameras",
      paint: {
        "circle-radius": ["match", ["get", "condition"], "alert", 11, 8],
        "circle-color": ["get", "dot"],
        "circle-stroke-color": ["get", "ring"],
        "circle-stroke-width": ["match", ["get", "condition"], "offline", 4, "alert", 4, 2],
      },
    });
    this.syncPlans();
    // the theme switched (light / dark): the map's own colours are the theme's variables, read again
    new MutationObserver(() => {
      if (this.map.getLayer("plain")) this.map.setPaintProperty("plain", "background-color", colour("--surface-2"));
      this.update();
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    this.map.on("click", "cameras", (event) => this.openPopup(event.features[0].properties.id));
    this.map.on("mouseenter", "cameras", () => { this.map.getCanvas().style.cursor = "pointer"; });
    this.map.on("mouseleave", "cameras", () => { this.map.getCanvas().style.cursor = ""; });
    box.dataset.ready = "true";
  },

  plainStyle() {
    return { version: 8, sources: {}, layers: [{ id: "plain", type: "background", paint: { "background-color": colour("--surface-2") } }] };
  },

  async style() {
    const basemap = this.config.basemap;
    if (!basemap) return this.plainStyle();
    // the tiles are fetched from the map's worker, which needs whole URLs (and `new URL` would escape the {z})
    const absolute = (url) => (url.startsWith("/") ? `${location.origin}${url}` : url);
    if (basemap.vector) {
      const style = await api("GET", basemap.style);
      style.sources.basemap.tiles = style.sources.basemap.tiles.map(absolute);
      return style;
    }
    const source = { type: "raster", tiles: [absolute(basemap.tiles)], tileSize: 256, minzoom: basemap.min_zoom, maxzoom: basemap.max_zoom };
    if (basemap.bounds) source.bounds = basemap.bounds;
    return {
      version: 8,
      sources: { basemap: source },
      layers: [
        { id: "plain", type: "background", paint: { "background-color": colour("--surface-2") } },
        { id: "basemap", type: "raster", source: "basemap" },
      ],
    };
  },

  start() {
    // where the map opens: the configured centre and zoom (or the basemap's), else what shows every camera
    const { center, zoom } = this.config;
    if (center && zoom !== null && zoom !== undefined) return { center, zoom };
    const placed = this.cameras();
    if (!placed.length) return { center: center || [2.35, 46.6], zoom: zoom ?? (center ? 15 : 5) };
    if (placed.length === 1 || center) return { center: center || [placed[0].lon, placed[0].lat], zoom: zoom ?? 17 };
    const lons = placed.map((c) => c.lon);
    const lats = placed.map((c) => c.lat);
    return {
      bounds: [[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
      fitBoundsOptions: { padding: 80, maxZoom: 18 },
    };
  },

  syncPlans() {
    if (!this.map) return;
    const wanted = new Map(this.config.plans.map((p) => [`plan-${p.id}`, p]));
    for (const layer of this.map.getStyle().layers) {
      if (layer.id.startsWith("plan-") && !wanted.has(layer.id)) {
        this.map.removeLayer(layer.id);
        this.map.removeSource(layer.id);
      }
    }
    for (const [id, plan] of wanted) {
      if (this.map.getSource(id)) continue;
      const url = new URL(plan.image, location.origin).href;
      this.map.addSource(id, { type: "image", url, coordinates: plan.corners });
      // under the fields of view and the cameras, over the basemap
      this.map.addLayer({ id, type: "raster", source: id, paint: { "raster-opacity": 0.85 } }, "cones");
    }
  },

  update() {
    if (!this.map || !this.map.getSource("cameras")) {
      this.renderSide();
      return;
    }
    const data = this.features();
    this.map.getSource("cones").setData(data.cones);
    this.map.getSource("cameras").setData(data.points);
    this.renderSide();
  },

  describe(camera) {
    const condition = this.condition(camera);
    return condition === "alert" ? t("map.alert_pending") : t(`state.${camera.info.state}`);
  },

  openPopup(id) {
    const camera = this.cameras().find((c) => c.id === id);
    if (!camera || !this.map) return;
    if (this.popup) this.popup.remove();
    const content = el(
      "div",
      { class: "map-popup", "data-camera": camera.id },
      el("strong", { text: camera.info.name }),
      el("p", { class: `map-popup-state map-${this.condition(camera)}`, text: this.describe(camera) }),
      camera.info.location && camera.info.location.address ? el("p", { class: "note", text: camera.info.location.address }) : null,
      can("view_live") ? el("a", { href: `#/live/${encodeURIComponent(camera.id)}`, text: t("map.view_live") }) : null,
    );
    this.popup = new window.maplibregl.Popup({ closeButton: true, offset: 14, maxWidth: "18rem" })
      .setLngLat([camera.lon, camera.lat])
      .setDOMContent(content)
      .addTo(this.map);
  },

  async show(id) {
    await this.drawn; // chosen from the list before the map was drawn: shown once it is
    const camera = this.cameras().find((c) => c.id === id);
    if (!camera || !this.map) return;
    this.map.jumpTo({ center: [camera.lon, camera.lat], zoom: Math.max(this.map.getZoom(), 17) });
    this.openPopup(id);
  },

  renderSide() {
    // Updated in place, never rebuilt: a refresh every few seconds must not take the focus from the camera a
    // keyboard user is on.
    const list = document.getElementById("map-list");
    const cameras = this.cameras();
    const shown = new Map(Array.from(list.children).map((li) => [li.dataset.entry, li]));
    const wanted = new Set(cameras.map((c) => c.id));
    for (const [id, li] of shown) if (!wanted.has(id)) li.remove();
    let previous = null;
    for (const camera of cameras) {
      let li = shown.get(camera.id);
      if (!li) {
        const button = el(
          "button",
          { type: "button", class: "map-camera", dataset: { camera: camera.id }, onclick: () => this.show(camera.id) },
          el("span", { class: "map-swatch", "aria-hidden": "true" }),
          el("span", { class: "map-camera-name" }),
          el("span", { class: "map-camera-state" }),
        );
        li = el("li", { dataset: { entry: camera.id } }, button);
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== li) list.insertBefore(li, expected);
      const condition = this.condition(camera);
      li.querySelector(".map-swatch").className = `map-swatch map-${condition}`;
      li.querySelector(".map-camera-name").textContent = camera.info.name;
      const said = li.querySelector(".map-camera-state");
      said.className = `map-camera-state map-${condition}`;
      said.textContent = this.describe(camera);
      previous = li;
    }
    const unplaced = state.cameras.length - cameras.length;
    document.getElementById("map-unplaced").textContent = unplaced > 0 ? t("map.unplaced", { count: unplaced }) : "";
    this.renderPlans();
  },

  // --- site plans: listed for everyone who sees the map; placed and removed by whoever may (manage_site_plans) --

  renderPlans() {
    const box = document.getElementById("map-plans");
    const plans = this.config ? this.config.plans : [];
    const items = plans.map((plan) =>
      el(
        "li",
        {},
        el("span", { text: `${plan.name} (${plan.site_id})` }),
        can("manage_site_plans")
          ? el("button", { type: "button", text: t("map.plan_remove"), "aria-label": t("map.plan_remove_named", { name: plan.name }), onclick: () => this.removePlan(plan) })
          : null,
      ),
    );
    box.replaceChildren(
      el("h3", { text: t("map.plans") }),
      items.length ? el("ul", { class: "map-plan-list" }, ...items) : el("p", { class: "note", text: t("map.plans_none") }),
    );
    if (can("manage_site_plans")) box.append(this.planForm());
  },

  planForm() {
    const sites = el("select", { id: "map-plan-site", required: true });
    api("GET", "/api/sites")
      .then((page) => {
        const own = page.items.filter((s) => s.commune_id === state.me.commune_id);
        sites.replaceChildren(...own.map((s) => el("option", { value: s.id, text: s.name })));
      })
      .catch(failed);
    const error = el("p", { id: "map-plan-error", class: "error", role: "alert" });
    const form = el(
      "form",
      { id: "map-plan-form", class: "map-plan-form" },
      el("h4", { text: t("map.plan_add") }),
      el("label", {}, t("map.plan_site"), sites),
      el("label", {}, t("map.plan_name"), el("input", { id: "map-plan-name", required: true, maxlength: "100" })),
      el("label", {}, t("map.plan_file"), el("input", { id: "map-plan-file", type: "file", accept: "image/png,image/jpeg", required: true })),
      el("p", { class: "note", text: t("map.plan_where", { size: Math.round((this.config.plan_max_bytes || 0) / 1048576) }) }),
      el("button", { type: "submit", text: t("map.plan_place") }),
      error,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.uploadPlan(form, error);
    });
    return form;
  },

  async uploadPlan(form, error) {
    error.textContent = "";
    const file = form.querySelector("#map-plan-file").files[0];
    if (!file || !this.map) {
      error.textContent = t(this.map ? "map.plan_no_file" : "map.plan_no_map");
      return;
    }
    // the plan covers what the map shows now: top-left, top-right, bottom-right, bottom-left
    const b = this.map.getBounds();
    const corners = [b.getWest(), b.getNorth(), b.getEast(), b.getNorth(), b.getEast(), b.getSouth(), b.getWest(), b.getSouth()];
    const query = new URLSearchParams({
      commune_id: state.me.commune_id,
      site_id: form.querySelector("#map-plan-site").value,
      name: form.querySelector("#map-plan-name").value,
      corners: corners.map((v) => v.toFixed(7)).join(","),
    });
    try {
      const response = await fetch(`/api/map/plans?${query}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": state.csrf, "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const data = await response.json();
      if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
      this.config.plans.push(data);
      form.reset();
      this.syncPlans();
      this.renderPlans();
      this.say(t("map.plan_placed", { name: data.name }));
    } catch (err) {
      error.textContent = t("map.plan_refused", { message: err.message });
    }
  },

  async removePlan(plan) {
    try {
      await api("DELETE", `/api/map/plans/${plan.id}`);
      this.config.plans = this.config.plans.filter((p) => p.id !== plan.id);
      this.syncPlans();
      this.renderPlans();
    } catch (err) {
      failed(err);
    }
  },

  // --- domes: their direction as they report it, while the map is shown ---------------------------------------

  async watchDomes() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // every dome placed on the map, for whoever sees it: where it looks is read once a second at most by the
    // server, whoever asks (GET /api/cameras/ptz/directions); a dome that does not answer: its configured heading
    this.domes = this.cameras().filter((c) => c.dome).map((c) => c.id);
    if (!this.domes.length) return;
    const mine = this.generation;
    const poll = async () => {
      if (mine !== this.generation || !this.domes.length) return;
      try {
        const { domes } = await api("GET", `/api/cameras/ptz/directions?ids=${this.domes.map(encodeURIComponent).join(",")}`);
        for (const id of this.domes) {
          const camera = this.cameras().find((c) => c.id === id);
          if (camera && domes[id]) this.live.set(id, domeView(camera, domes[id]));
          else this.live.delete(id);
        }
      } catch (err) {
        if (err instanceof NotLoggedIn) { failed(err); return; }
        this.live.clear(); // the configured headings
        if (err.status === 503) this.domes = []; // PTZ not served by this process: no more asking
      }
      if (mine === this.generation) this.update();
    };
    await poll();
    this.timer = setInterval(poll, PTZ_POLL_MS);
  },
};
