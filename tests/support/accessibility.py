"""WCAG 2.1 AA checks of the console in the browser with axe-core (Deque's engine, the one accessibility audits of
public websites use), installed from tests/console/package-lock.json by ``scripts/setup.sh --with-browser``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[1] / "console" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any, within: str | None = None) -> list[dict[str, Any]]:
    """The WCAG 2.1 A/AA violations axe-core finds on what the page shows now (hidden parts are not judged),
    ``within`` a CSS selector or the whole document."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (scripts/setup.sh --with-browser runs npm ci in tests/console)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the console's Content-Security-Policy (no inline scripts) stays on
        page.evaluate("source => { (0, eval)(source); }", AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        """async ([within, tags]) => {
            const context = within ? document.querySelector(within) : document;
            return await axe.run(context, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
        }""",
        [within, WCAG_AA],
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element: what rule, where, and axe's summary of how to fix it."""
    lines = []
    for violation in violations:
        for node in violation["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{violation['id']} ({violation['impact']}): {node['target']} — {summary}")
    return "\n".join(lines)


def assert_accessible(page: Any, within: str | None = None) -> None:
    violations = axe_violations(page, within)
    assert not violations, "WCAG 2.1 AA violations (axe-core):\n" + describe(violations)
