// The alarm's sound (issue 24): a short tone made by WebAudio — no audio file, nothing fetched — for a new alert, and
// a softer one as a reminder while alerts wait (alarms.js decides when). It can be silenced for the session (kept
// in localStorage with a mark of the session, so a new log-in sounds again). Browsers start audio only after a
// gesture in the page: the context is made (or resumed) on the first key or click, and until then the console says
// the sound is blocked. One window sounds however many show the console: the one holding the "vigie-alarm-sound"
// Web Lock (when it closes, the next window in line gets it; the alarm window takes it once it may play).

const SILENCE_KEY = "vigie.alarm.silenced";
const listeners = [];

export const sound = { context: null, silenced: false, mark: "" };

export function onSoundChange(listener) {
  listeners.push(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

export function loadSilence(mark) {
  sound.mark = mark;
  sound.silenced = localStorage.getItem(SILENCE_KEY) === mark;
}

export function setSilenced(value) {
  sound.silenced = value;
  if (value) localStorage.setItem(SILENCE_KEY, sound.mark);
  else localStorage.removeItem(SILENCE_KEY);
  if (!value) unlock();
}

export function unlock() {
  if (!window.AudioContext) return;
  if (!sound.context) {
    try { sound.context = new AudioContext(); } catch (err) { return; }
    sound.context.addEventListener("statechange", changed);
  }
  if (sound.context.state === "suspended") sound.context.resume().catch(() => {});
}

export function audible() {
  return Boolean(sound.context && sound.context.state === "running");
}

export function soundState() {
  if (sound.silenced) return "silenced";
  return audible() ? "on" : "blocked";
}

export function chime(strong) {
  // Three notes for a new alert, one softer for the reminder; each fades in and out (no click).
  if (!audible()) return;
  const ctx = sound.context;
  const start = ctx.currentTime + 0.02;
  const notes = strong ? [880, 660, 880] : [660];
  notes.forEach((frequency, n) => {
    const at = start + n * 0.22;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(strong ? 0.25 : 0.12, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.21);
  });
}

const voice = { asked: false, held: false, stealing: false };

export function claimVoice(steal) {
  if (!navigator.locks) return;
  if (voice.asked && !steal) return;
  if (steal && (voice.held || voice.stealing)) return;
  voice.asked = true;
  voice.stealing = steal;
  navigator.locks.request("vigie-alarm-sound", { steal }, () => {
    voice.held = true;
    voice.stealing = false;
    return new Promise(() => {}); // held while this page lives
  }).catch(() => { // taken by another window: wait in line again
    voice.held = false;
    voice.stealing = false;
    voice.asked = false;
    claimVoice(false);
  });
}

export function voiceHeld() {
  // Whether this window is the one that sounds; null without Web Locks (a plain-HTTP page: the caller decides).
  return navigator.locks ? voice.held : null;
}
