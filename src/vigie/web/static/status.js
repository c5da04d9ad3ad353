"use strict";
// Minimal status page: polls the API. Text is inserted with textContent only (never innerHTML).

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
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

async function refresh() {
  try {
    const [cams, events] = await Promise.all([
      fetch("/api/cameras").then((r) => r.json()),
      fetch("/api/events?limit=20").then((r) => r.json()),
    ]);
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
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    document.getElementById("updated").textContent = `cannot reach the API: ${err}`;
  }
}

refresh();
setInterval(refresh, 2000);
