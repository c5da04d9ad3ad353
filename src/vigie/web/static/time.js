// The console shows and takes times on the Paris clock — the communes' legal time, the calendar the server counts
// bare dates in (vigie.domain.clock.legal_day) — whatever zone the browser's machine is set to. A playback day, an
// export's bounds and an activation's period typed in the console are read on that clock, as the times it shows
// (i18n.formatTime) are. The zone arithmetic is the browser's own tz database, through Intl: no library needed.

const ZONE = "Europe/Paris";
const PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

function parts(date) {
  return Object.fromEntries(PARTS.formatToParts(date).map((p) => [p.type, p.value]));
}

/** "YYYY-MM-DDTHH:MM:SS" on the Paris clock at ``date`` (what a datetime-local input holds). */
export function parisWallClock(date = new Date()) {
  const p = parts(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** The Paris calendar day ("YYYY-MM-DD") at ``date``. */
export function parisDay(date = new Date()) {
  return parisWallClock(date).slice(0, 10);
}

// Paris's offset from UTC, in milliseconds, at the instant ``ms``.
function offsetAt(ms) {
  const p = parts(new Date(ms));
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The instant a Paris wall-clock reading ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or with seconds) names. A time the
 * clocks skip in spring is read at the offset before the change, an hour repeated in autumn as its second pass. */
export function fromParisWallClock(value) {
  const m = WALL_CLOCK.exec(value || "");
  if (!m) throw new Error(`"${value}" is not a date and time (YYYY-MM-DDTHH:MM)`);
  const ms = m[7] ? +m[7].padEnd(3, "0") : 0;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0), ms);
  const first = wall - offsetAt(wall);
  return new Date(wall - offsetAt(first));
}

/** The Paris day after ``day`` ("YYYY-MM-DD"). */
export function nextDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The instants a Paris day starts and ends at: 23 hours on the day clocks go forward, 25 the day they go back. */
export function parisDayBounds(day) {
  return { start: fromParisWallClock(day), end: fromParisWallClock(nextDay(day)) };
}
