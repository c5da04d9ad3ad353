// Loudspeakers from the single live view (issue 21): pick a pre-recorded message of the commune and the speakers,
// those linked to the camera shown already ticked, and play. Playing is a person's act: the server checks the
// session, the role (play_speaker_message, and the roles the message is opened to) and the commune, and audits the
// order before any speaker is asked (speaker.play_ordered) and what the speakers answered (speaker.play_result).
// Shown only to people who may play and when the commune has messages and speakers (GET /api/speakers).

import { api, can, el, failed, NotLoggedIn } from "./app.js";
import { language, t } from "./i18n.js";

const box = { camera: null, catalogue: null };
const panel = () => document.getElementById("speakers");

function say(message, cls) {
  const note = document.getElementById("speakers-message");
  if (!note) return;
  note.textContent = message;
  note.className = cls;
}

function title(message) {
  return message.titles[language()] || message.titles.fr;
}

function build(cameraId) {
  const { messages, speakers } = box.catalogue;
  const linked = speakers.filter((s) => s.cameras.includes(cameraId));
  const others = speakers.filter((s) => !s.cameras.includes(cameraId));
  const select = el("select", { id: "speakers-message-choice", required: true });
  for (const message of messages) {
    const languages = message.languages.join(", ").toUpperCase();
    select.append(el("option", { value: message.id, text: `${title(message)} (${languages})` }));
  }
  const choices = el("fieldset", { id: "speakers-choices", class: "roles" }, el("legend", { text: t("speakers.which") }));
  for (const speaker of [...linked, ...others]) {
    const near = speaker.cameras.includes(cameraId);
    const input = el("input", { type: "checkbox", value: speaker.id, checked: near, dataset: { speaker: speaker.id } });
    const label = near ? t("speakers.linked", { name: speaker.name, zone: speaker.zone }) : `${speaker.name} · ${speaker.zone}`;
    choices.append(el("label", {}, input, el("span", { text: label })));
  }
  const form = el("form", { id: "speakers-form", class: "inline-form" },
    el("label", {}, el("span", { text: t("speakers.message") }), select),
    choices,
    el("button", { type: "submit", id: "speakers-play", text: t("speakers.play") }));
  form.addEventListener("submit", play);
  panel().replaceChildren(
    el("h3", { text: t("speakers.title") }),
    el("p", { class: "note", text: t("speakers.note") }),
    form,
    el("p", { id: "speakers-message", class: "note", role: "status" }),
  );
  panel().hidden = false;
}

async function play(event) {
  event.preventDefault();
  const messageId = document.getElementById("speakers-message-choice").value;
  const speakerIds = [...document.querySelectorAll("#speakers-choices input:checked")].map((i) => i.value);
  if (!speakerIds.length) { say(t("speakers.none_chosen"), "error"); return; }
  const button = document.getElementById("speakers-play");
  button.disabled = true;
  say(t("speakers.playing"), "note");
  try {
    const result = await api("POST", "/api/speakers/play", { message_id: messageId, speaker_ids: speakerIds });
    const played = result.outcomes.filter((o) => o.played).map((o) => o.speaker_id);
    const missed = result.outcomes.filter((o) => !o.played).map((o) => `${o.speaker_id}: ${o.detail}`);
    say(missed.length ? t("speakers.partly", { played: played.join(", "), missed: missed.join("; ") })
      : t("speakers.played", { played: played.join(", ") }), missed.length ? "error" : "status ok");
  } catch (err) {
    if (err instanceof NotLoggedIn) failed(err);
    else say(err.message, "error");
  } finally {
    button.disabled = false;
  }
}

export const speakers = {
  // Called by the live view when it shows one camera, and when it stops showing it.
  show(cameraId) {
    if (box.camera === cameraId && box.catalogue) { build(cameraId); return; } // the language changed
    this.hide();
    if (!can("play_speaker_message")) return;
    box.camera = cameraId;
    api("GET", "/api/speakers")
      .then((catalogue) => {
        if (box.camera !== cameraId || !catalogue.messages.length || !catalogue.speakers.length) return;
        box.catalogue = catalogue;
        build(cameraId);
      })
      .catch((err) => { if (err instanceof NotLoggedIn) failed(err); });
  },
  hide() {
    box.camera = null;
    box.catalogue = null;
    const node = panel();
    node.hidden = true;
    node.replaceChildren();
  },
};
