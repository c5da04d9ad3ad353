"""The audit log's vocabulary is documented: an outside auditor reading docs/audit.md finds every action the
platform can write, so a new action cannot slip into the log unexplained."""

from __future__ import annotations

from pathlib import Path

from vigie.domain.audit import AuditAction

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def test_every_audit_action_is_explained_in_the_audit_documentation() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## What is traced") : text.index("## Keys and signatures")]
    missing = [action.value for action in AuditAction if f"`{action.value}`" not in table]
    assert not missing, f"add these actions to the table of docs/audit.md: {missing}"
