"""The console says everything in French and in English: both dictionaries have the same keys, and every text the
page marks for translation (``data-i18n``) or a script asks for (``t("…")``) is in them."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"


def dictionary(name: str) -> set[str]:
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    body = source[source.index(f"const {name} = {{") : source.index("\n};", source.index(f"const {name} = {{"))]
    return set(re.findall(r'^\s+"?([\w.]+)"?: "', body, re.MULTILINE))


def test_french_and_english_say_the_same_things() -> None:
    english, french = dictionary("EN"), dictionary("FR")
    assert len(english) > 100
    assert english - french == set(), "missing in French"
    assert french - english == set(), "missing in English"


def test_every_text_asked_for_is_translated() -> None:
    english = dictionary("EN")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    marked = set(re.findall(r'data-i18n="([\w.]+)"', page))
    scripts = "".join(
        (STATIC / name).read_text(encoding="utf-8")
        for name in (
            "app.js",
            "views.js",
            "health.js",
            "plates.js",
            "ptz.js",
            "speakers.js",
            "cases.js",
            "layouts.js",
            "map.js",
            "tree.js",
        )
    )
    asked = set(re.findall(r'\bt\("([\w.]+)"', scripts))
    assert marked - english == set() and asked - english == set()
