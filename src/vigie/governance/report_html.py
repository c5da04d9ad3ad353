"""Rendering the compliance report as a self-contained HTML page (prints to PDF from any browser).

Jinja2 with autoescaping: every value from the audit chain is escaped, since details are free text.
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.governance.report import ComplianceReport

LOCAL = LEGAL_TIME_ZONE


def _local(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M:%S")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = f"{hours:d} h {minutes:02d} min {secs:02d} s"
    return f"{days:d} j {text}" if days else text


def render_report_html(report: ComplianceReport, *, controller: str = "", signature_note: str = "") -> str:
    env = Environment(
        loader=PackageLoader("vigie.governance", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    template = env.get_template("compliance_report.html.j2")
    return template.render(
        report=report,
        controller=controller,
        signature_note=signature_note,
        since_local=_local(report.since),
        until_local=_local(report.until),
        generated_local=_local(report.generated_at),
        local=_local,
        duration=_duration,
    )
