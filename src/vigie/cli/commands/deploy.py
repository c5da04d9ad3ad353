"""``vigie deploy firewall``: read the configuration, print its nftables ruleset on standard output and the
warnings on standard error (:mod:`vigie.config.firewall`, :mod:`vigie.config.nftables`)."""

from __future__ import annotations

import sys
from pathlib import Path

from vigie.config import ConfigError, format_issues, load_config
from vigie.config.firewall import FirewallError, FirewallOptions, plan_firewall
from vigie.config.nftables import render_nftables
from vigie.runtime.assembly.module_settings import check_module_settings

EXIT_WARNINGS = 1
"""``--strict`` and a warning: nothing printed on standard output."""
EXIT_INVALID = 2

PROGRAM = "vigie deploy firewall"


def firewall_command(config_path: Path, options: FirewallOptions, *, strict: bool) -> int:
    try:
        config = load_config(config_path, [check_module_settings])
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        print(f"{PROGRAM}: the configuration is invalid; no ruleset printed", file=sys.stderr)
        return EXIT_INVALID
    try:
        plan = plan_firewall(config, options)
    except FirewallError as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        return EXIT_INVALID
    level = "error" if strict else "warning"
    for warning in plan.warnings:
        print(f"{PROGRAM}: {level}: {warning}", file=sys.stderr)
    if strict and plan.warnings:
        print(f"{PROGRAM}: {len(plan.warnings)} error(s) with --strict; no ruleset printed", file=sys.stderr)
        return EXIT_WARNINGS
    sys.stdout.write(render_nftables(plan, config_path.name))
    return 0
