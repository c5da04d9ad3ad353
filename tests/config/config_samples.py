"""A small valid configuration text that tests break one line at a time (a plain module, not a conftest,
so that its name cannot clash with other test folders' conftest modules)."""

from __future__ import annotations

BASE = """\
version: 1
storage:
  database_url: sqlite:///var/vigie.db
api:
  port: 8080
communes:
  - id: belvedere
    name: Ville de Belvédère
    kind: municipal
    insee_code: "69999"
    sites:
      - id: mairie
        name: Place de la Mairie
        cameras:
          - id: cam-001
            name: Parvis
            kind: fixed
            main_stream: rtsp://cam-001.example.invalid/stream1
            location:
              lat: 45.77
              lon: 4.86
            authorisation:
              reference: 2024-DS-0142
              valid_from: 2024-03-01
              valid_until: 2029-02-28
              purposes: [public_buildings, crime_prevention]
              retention_days: 15
            zones:
              - kind: analysis
                id: parvis
                points: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]
              - kind: directed_line
                id: entree
                points: [[0.1, 0.3], [0.9, 0.3]]
                direction: left_to_right
          - id: cam-002
            name: Dôme
            kind: ptz
            main_stream: rtsp://cam-002.example.invalid/stream1
            location:
              lat: 45.78
              lon: 4.87
            authorisation:
              reference: 2024-DS-0142
              valid_from: 2024-03-01
              valid_until: 2029-02-28
              purposes: [crime_prevention]
              retention_days: 15
        signage:
          pictogram: true
          controller: Ville de Belvédère
          contact: dpo@belvedere.example
          panel: PAN-2024-001
          posted_on: 2024-03-01
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    if len(hits) < occurrence:
        raise AssertionError(f"{needle!r} not found {occurrence} times")
    return hits[occurrence - 1]


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its single occurrence of ``old`` replaced (fails loudly when the fixture drifts)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)
