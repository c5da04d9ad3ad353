// The console's keyboard shortcuts, in one registry so that two views never fight over a key and the help
// ("?") lists every shortcut in the console's language. A module registers its own:
//   shortcut(["n"], "keys.next_tile", () => …, { when: () => view is shown })
// Keys are written as KeyboardEvent.key, with modifiers first: "Alt+1", "Shift+ArrowLeft", "Escape", "?".
// Typing in a field never triggers a shortcut (but Escape, which leaves the field).

import { t } from "./i18n.js";

const registry = [];

// options.scoped: the shortcut belongs to the component that has the focus (the alarm pop-up's "f" = false positive):
// such shortcuts are tried before the view-wide ones (the layouts' "f" = full screen), whatever the import order.
export function shortcut(keys, label, handler, options = {}) {
  const entry = {
    keys, label, handler, when: options.when || (() => true), group: options.group || "keys.general",
    scoped: Boolean(options.scoped),
  };
  registry.push(entry);
  return entry;
}

export function combo(event) {
  const parts = [];
  if (event.ctrlKey) parts.push("Ctrl");
  if (event.altKey) parts.push("Alt");
  // Shift is part of printable keys already ("?" not "Shift+/"); named keys keep it
  if (event.shiftKey && event.key.length > 1) parts.push("Shift");
  let key = event.key;
  // Alt+digit gives another character on some layouts (AZERTY): the physical digit is what a person pressed
  if (event.altKey && /^Digit[0-9]$/.test(event.code)) key = event.code.slice(5);
  parts.push(key.length === 1 ? key.toLowerCase() : key);
  return parts.join("+");
}

function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

export function active() {
  return registry.filter((entry) => entry.when());
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) return;
  const key = combo(event);
  if (typing(event.target) && key !== "Escape") return;
  for (const scoped of [true, false]) {
    for (const entry of registry) {
      if (entry.scoped === scoped && entry.keys.includes(key) && entry.when()) {
        event.preventDefault();
        entry.handler(event);
        return;
      }
    }
  }
});

// --- the help: every shortcut that works here, now ------------------------------------------------------------

function showHelp() {
  const dialog = document.getElementById("shortcuts");
  if (!dialog) return;
  const list = dialog.querySelector("dl");
  list.replaceChildren();
  for (const entry of active()) {
    const dt = document.createElement("dt");
    for (const key of entry.keys) {
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.append(kbd, " ");
    }
    const dd = document.createElement("dd");
    dd.textContent = t(entry.label);
    list.append(dt, dd);
  }
  if (!dialog.open) dialog.showModal();
}

shortcut(["?"], "keys.help", showHelp);
