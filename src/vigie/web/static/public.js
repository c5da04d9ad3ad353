// The public information page (L36): no login, no cookie used, only public data.

function row(values) {
  const tr = document.createElement("tr");
  for (const value of values) {
    const td = document.createElement("td");
    td.textContent = value;
    tr.appendChild(td);
  }
  return tr;
}

function day(iso) {
  return iso ? new Date(iso).toLocaleDateString("fr-FR", { timeZone: "Europe/Paris" }) : "";
}

const AUTHORISATION = {
  valid: "en vigueur · valid",
  expiring: "en vigueur, expire bientôt · valid, expiring soon",
  expired: "EXPIRÉE · EXPIRED",
  not_yet_valid: "pas encore en vigueur · not yet valid",
  missing: "aucune · none",
};

// The camera's prefectoral authorisation (L1): its state, reference and last day; an expired one stands out.
function authorisation(c) {
  if (!c.authorisation) return "";
  const parts = [AUTHORISATION[c.authorisation] || c.authorisation];
  if (c.authorisation_reference) parts.push(c.authorisation_reference);
  if (c.authorised_until) parts.push(`${c.authorisation === "expired" ? "expirée le" : "jusqu'au"} ${day(c.authorised_until)}`);
  return parts.join(" — ");
}

function cameraRow(c) {
  const tr = row([c.name, c.commune_id, c.site_id, c.address || "", c.kind, authorisation(c)]);
  tr.dataset.camera = c.id;
  tr.dataset.authorisation = c.authorisation || "";
  if (c.authorisation === "expired" || c.authorisation === "not_yet_valid") tr.classList.add("unauthorised");
  return tr;
}

async function load() {
  const [cameras, analysis] = await Promise.all([
    fetch("/api/public/cameras").then((r) => r.json()),
    fetch("/api/public/analysis").then((r) => (r.ok ? r.json() : { activations: [], stopped: false })),
  ]);
  const names = new Map(cameras.map((c) => [c.id, c.name]));
  document.querySelector("#public-cameras tbody").replaceChildren(
    ...cameras.map(cameraRow),
  );
  document.querySelector("#public-analysis tbody").replaceChildren(
    ...analysis.activations.map((a) => row([
      a.module_title, a.commune_id, a.camera_ids.map((id) => names.get(id) || id).join(", "), a.purpose,
      a.framework, `${a.decision_number} (${day(a.decision_date)})`, day(a.runs_until),
    ])),
  );
  const state = document.getElementById("analysis-state");
  if (analysis.stopped) state.textContent = "Arrêt d'urgence engagé : aucun traitement algorithmique ne tourne. · Stop switch engaged: no analysis runs.";
  else if (!analysis.activations.length) state.textContent = "Aucun traitement algorithmique en service. · No algorithmic analysis in use.";
  else state.textContent = "";
  return names;
}

// Per site, the controller and contact its signage panels print (L7): one row per distinct panel, with the names of
// the cameras it covers (``names``: camera id -> name, from the cameras' list).
async function loadSignage(names) {
  const answer = await fetch("/api/public/signage");
  const sites = answer.ok ? await answer.json() : [];
  document.querySelector("#public-signage tbody").replaceChildren(
    ...sites.flatMap((site) => site.panels.map((panel) => {
      const tr = row([site.commune_id, site.site_name, panel.controller, panel.contact, panel.camera_ids.map((id) => names.get(id) || id).join(", ")]);
      tr.dataset.site = site.site_id;
      return tr;
    })),
  );
}

async function loadAuditHead() {
  const answer = await fetch("/api/public/audit-head");
  const head = answer.ok ? await answer.json() : null;
  const shown = head
    ? [String(head.seq), head.hash, new Date(head.at).toLocaleString("fr-FR", { timeZone: "Europe/Paris" }) + ` (${head.at})`, head.key_id]
    : ["—", "aucune tête publiée · no head published yet", "", ""];
  ["seq", "hash", "at", "key"].forEach((name, index) => {
    document.getElementById(`audit-head-${name}`).textContent = shown[index];
  });
}

load().catch(() => new Map()).then(loadSignage);
loadAuditHead();
