// Loudspeakers from the single live view (issue 21): pick a pre-recorded message of the commune and the speakers,
// those linked to the camera shown already ticked, and play. The same from an alert (the alerts view's
// "Loudspeakers" button): the speakers linked to the alert's camera ticked, and the alert sent with the order, so
// the audit links the play to the alert the person answers. Playing is a person's act: the server checks the
// session, the role (play_speaker_message, and the roles the message is opened to) and the commune, and audits the
// order before any speaker is asked (speaker.play_ordered, with linked_alert) and what the speakers answered
// (speaker.play_result). Nothing here plays by itself: only the click on "Play the message" sends the order.
// Shown only to people who may play and when the commune has messages and speakers (GET /api/speakers).

import { api, can, cameraName, el, failed, NotLoggedIn } from "./app.js";
import { language, t } from "./i18n.js";

// Where a form is drawn: the live view's panel (ids speakers-*, kept for the click-to-sound measure) or the
// alerts view's (alert-speakers-*).
const LIVE = { panel: "speakers", prefix: "speakers" };
const ALERT = { panel: "alert-speakers", prefix: "alert-speakers" };

const box = { camera: null, catalogue: null };
const forAlert = { alert: null };

function say(place, message, cls) {
  const note = document.getElementById(`${place.prefix}-message`);
  if (!note) return;
  note.textContent = message;
  note.className = cls;
}

function title(message) {
  return message.titles[language()] || message.titles.fr;
}

function choicesMade(place, cameraId) {
  // What the person already chose on this camera's form (the message, the speakers ticked), kept when the form is
  // drawn again (the language changed, or the view was entered twice as the console started): a form drawn again
  // under the person's hand must not tick again a speaker they had just unticked.
  const panel = document.getElementById(place.panel);
  const select = document.getElementById(`${place.prefix}-message-choice`);
  const inputs = [...document.querySelectorAll(`#${place.prefix}-choices input`)];
  if (!panel || panel.hidden || panel.dataset.camera !== cameraId || !select || !inputs.length) return null;
  return { message: select.value, ticked: new Set(inputs.filter((i) => i.checked).map((i) => i.value)) };
}

function build(place, catalogue, cameraId, alert) {
  const { messages, speakers: devices } = catalogue;
  const kept = choicesMade(place, cameraId);
  const id = (name) => `${place.prefix}-${name}`;
  const linked = devices.filter((s) => s.cameras.includes(cameraId));
  const others = devices.filter((s) => !s.cameras.includes(cameraId));
  const select = el("select", { id: id("message-choice"), required: true });
  for (const message of messages) {
    const languages = message.languages.join(", ").toUpperCase();
    select.append(el("option", { value: message.id, text: `${title(message)} (${languages})` }));
  }
  if (kept && messages.some((m) => m.id === kept.message)) select.value = kept.message;
  const choices = el("fieldset", { id: id("choices"), class: "roles" }, el("legend", { text: t("speakers.which") }));
  for (const speaker of [...linked, ...others]) {
    const near = speaker.cameras.includes(cameraId);
    const checked = kept ? kept.ticked.has(speaker.id) : near;
    const input = el("input", { type: "checkbox", value: speaker.id, checked, dataset: { speaker: speaker.id } });
    const label = near ? t("speakers.linked", { name: speaker.name, zone: speaker.zone }) : `${speaker.name} · ${speaker.zone}`;
    choices.append(el("label", {}, input, el("span", { text: label })));
  }
  const form = el("form", { id: id("form"), class: "inline-form" },
    el("label", {}, el("span", { text: t("speakers.message") }), select),
    choices,
    el("button", { type: "submit", id: id("play"), text: t("speakers.play") }));
  form.addEventListener("submit", (event) => play(event, place, alert));
  const heading = alert
    ? el("h3", { text: t("speakers.for_alert", { id: alert.id, camera: cameraName(alert.camera_id) }) })
    : el("h3", { text: t("speakers.title") });
  const close = alert
    ? el("button", { type: "button", id: id("close"), text: t("speakers.close"), onclick: () => speakers.closeAlert() })
    : null;
  const panel = document.getElementById(place.panel);
  panel.replaceChildren(
    heading,
    el("p", { class: "note", text: t(alert ? "speakers.alert_note" : "speakers.note") }),
    form,
    el("p", { id: id("message"), class: "note", role: "status" }),
    ...(close ? [close] : []), // replaceChildren writes a null as the text "null"
  );
  if (alert) panel.dataset.alert = String(alert.id);
  panel.dataset.camera = cameraId;
  panel.hidden = false;
}

async function play(event, place, alert) {
  event.preventDefault();
  const messageId = document.getElementById(`${place.prefix}-message-choice`).value;
  const speakerIds = [...document.querySelectorAll(`#${place.prefix}-choices input:checked`)].map((i) => i.value);
  if (!speakerIds.length) { say(place, t("speakers.none_chosen"), "error"); return; }
  const button = document.getElementById(`${place.prefix}-play`);
  button.disabled = true;
  say(place, t("speakers.playing"), "note");
  const body = { message_id: messageId, speaker_ids: speakerIds };
  if (alert) body.alert_id = alert.id; // the audit links the play to the alert the person answers
  try {
    const result = await api("POST", "/api/speakers/play", body);
    const played = result.outcomes.filter((o) => o.played).map((o) => o.speaker_id);
    const missed = result.outcomes.filter((o) => !o.played).map((o) => `${o.speaker_id}: ${o.detail}`);
    say(place, missed.length ? t("speakers.partly", { played: played.join(", "), missed: missed.join("; ") })
      : t("speakers.played", { played: played.join(", ") }), missed.length ? "error" : "status ok");
  } catch (err) {
    if (err instanceof NotLoggedIn) failed(err);
    else say(place, err.message, "error");
  } finally {
    button.disabled = false;
  }
}

function hidePanel(place) {
  const node = document.getElementById(place.panel);
  if (!node) return;
  node.hidden = true;
  delete node.dataset.alert;
  delete node.dataset.camera;
  node.replaceChildren();
}

export const speakers = {
  // Called by the live view when it shows one camera, and when it stops showing it.
  show(cameraId) {
    if (box.camera === cameraId) { // shown again (the language changed, or the view entered twice at start-up)
      if (box.catalogue) build(LIVE, box.catalogue, cameraId, null); // else the catalogue asked for draws it
      return;
    }
    this.hide();
    if (!can("play_speaker_message")) return;
    box.camera = cameraId;
    api("GET", "/api/speakers")
      .then((catalogue) => {
        if (box.camera !== cameraId || !catalogue.messages.length || !catalogue.speakers.length) return;
        box.catalogue = catalogue;
        build(LIVE, catalogue, cameraId, null);
      })
      .catch((err) => { if (err instanceof NotLoggedIn) failed(err); });
  },
  hide() {
    box.camera = null;
    box.catalogue = null;
    hidePanel(LIVE);
  },
  // Whether the alerts view offers the "Loudspeakers" button on an alert's row.
  offered: () => can("play_speaker_message"),
  // Called by the alerts view's button: the form for this alert, its camera's speakers ticked.
  openAlert(alert) {
    if (!can("play_speaker_message")) return;
    forAlert.alert = alert;
    api("GET", "/api/speakers")
      .then((catalogue) => {
        if (forAlert.alert !== alert) return;
        if (!catalogue.messages.length || !catalogue.speakers.length) {
          const panel = document.getElementById(ALERT.panel);
          panel.replaceChildren(el("p", { id: `${ALERT.prefix}-message`, class: "note", text: t("speakers.nothing") }));
          panel.hidden = false;
          return;
        }
        build(ALERT, catalogue, alert.camera_id, alert);
        document.getElementById(ALERT.panel).scrollIntoView({ block: "nearest" });
      })
      .catch((err) => failed(err));
  },
  closeAlert() {
    forAlert.alert = null;
    hidePanel(ALERT);
  },
};
