"""The ``speakers`` section (issue 21): empty by default; messages and speakers name communes and cameras of the
file (a speaker's cameras its own commune's); each driver finds what it plays; what is refused is named, with its
line; passwords never in the file; every field documented."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from config_samples import BASE, line_of
from pydantic import BaseModel, ValidationError

from vigie.config import ConfigError, check_command, load_config_text
from vigie.config.models import VigieConfig
from vigie.config.speakers import HttpDriver, SimulatedDriver, SipDriver, Speaker, SpeakerMessage, SpeakerSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"

SPEAKERS = """\
speakers:
  messages:
    - id: park-closing
      commune: belvedere
      titles: {fr: Le parc ferme, en: The park closes}
      languages: [fr, en]
      clip: "3"
      audio_file: /var/lib/vigie/messages/park-closing.wav
    - id: evacuate
      commune: belvedere
      titles: {fr: Évacuez la place}
      languages: [fr]
      roles: [supervisor]
      clip: evacuate
      audio_file: /var/lib/vigie/messages/evacuate.wav
  devices:
    - id: spk-parvis
      commune: belvedere
      name: Parvis de la mairie
      zone: Parvis
      cameras: [cam-001]
      driver: {kind: http, url: "https://10.12.0.40", username: vigie, password_env: VIGIE_SPK_PARVIS}
    - id: spk-dome
      commune: belvedere
      name: Place
      zone: Place
      cameras: [cam-002]
      driver: {kind: sip, uri: "sip:speaker-12@10.12.0.41"}
    - id: spk-demo
      commune: belvedere
      name: Simulé
      zone: Place
      driver: {kind: simulated}
"""


def loaded(speakers: str = SPEAKERS) -> VigieConfig:
    return load_config_text(BASE + speakers, "vigie.yaml")


def test_empty_by_default() -> None:
    assert VigieConfig.model_validate({"version": 1}).speakers == SpeakerSettings()


def test_a_catalogue_and_three_kinds_of_speakers_are_read() -> None:
    speakers = loaded().speakers
    assert [m.id for m in speakers.messages] == ["park-closing", "evacuate"]
    assert speakers.messages[0].roles == ("operator", "supervisor") and speakers.messages[1].roles == ("supervisor",)
    kinds = [type(s.driver) for s in speakers.devices]
    assert kinds == [HttpDriver, SipDriver, SimulatedDriver]
    assert speakers.devices[0].cameras == ("cam-001",)


def edited(old: str, new: str) -> str:
    assert SPEAKERS.count(old) >= 1, old
    return SPEAKERS.replace(old, new, 1)


@pytest.mark.parametrize(
    ("speakers", "message", "line"),
    [
        (edited("      cameras: [cam-001]", "      cameras: [cam-404]"), "links camera cam-404: no such camera", None),
        (
            edited("    - id: spk-parvis\n      commune: belvedere", "    - id: spk-parvis\n      commune: bron"),
            "names commune bron",
            None,
        ),
        (edited('      clip: "3"\n', ""), "park-closing has no `clip`", None),
        (edited("      audio_file: /var/lib/vigie/messages/evacuate.wav\n", ""), "evacuate has no `audio_file`", None),
        (edited("{fr: Évacuez la place}", "{en: Leave the square}"), "French title", "titles: {en: Leave"),
        (edited("roles: [supervisor]", "roles: [dpo]"), "speakers.messages.1.roles.0", "roles: [dpo]"),
        (edited('"https://10.12.0.40"', '"https://vigie:pw@10.12.0.40"'), "no credentials", None),
        (edited("password_env: VIGIE_SPK_PARVIS", "password: in-the-file"), "password", None),
        (
            edited('"sip:speaker-12@10.12.0.41"', '"http://10.12.0.41"'),
            "speakers.devices.1.driver.uri: not a valid value",
            None,
        ),
        (edited("id: evacuate", "id: park-closing"), "message ids must be unique", None),
        (edited("kind: simulated", "kind: radio"), "kind", None),
    ],
    ids=[
        "unknown-camera",
        "unknown-commune",
        "http-without-clip",
        "sip-without-audio",
        "no-french-title",
        "role-without-the-permission",
        "credentials-in-url",
        "password-in-the-file",
        "not-a-sip-uri",
        "duplicate-message",
        "unknown-driver",
    ],
)
def test_what_is_refused_is_named(speakers: str, message: str, line: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        loaded(speakers)
    text = str(caught.value)
    assert message in text, text
    assert "in-the-file" not in text and "vigie:pw" not in text
    if line is not None:
        assert f"vigie.yaml:{line_of(BASE + speakers, line)}:" in text, text


def test_a_camera_of_another_commune_is_refused() -> None:
    data: dict[str, Any] = loaded().model_dump(mode="json")
    data["communes"].append({"id": "bron", "name": "Bron", "kind": "municipal"})
    data["speakers"]["devices"].append(
        {
            "id": "spk-bron",
            "commune": "bron",
            "name": "B",
            "zone": "Z",
            "cameras": ["cam-001"],
            "driver": {"kind": "simulated"},
        }
    )
    data["speakers"]["messages"] = []
    with pytest.raises(ValidationError, match="spk-bron of bron links camera cam-001 of belvedere"):
        VigieConfig.model_validate(data)


def test_config_check_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "vigie.yaml"
    path.write_text(BASE + edited("      cameras: [cam-001]", "      cameras: [cam-404]"), encoding="utf-8")
    err = io.StringIO()
    assert check_command(path, stdout=io.StringIO(), stderr=err) == 2
    assert "speaker spk-parvis links camera cam-404: no such camera" in err.getvalue()


@pytest.mark.parametrize(
    "model", [SpeakerSettings, SpeakerMessage, Speaker, HttpDriver, SipDriver], ids=lambda m: m.__name__
)
def test_every_field_is_in_the_configuration_guide(model: type[BaseModel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## `speakers`") :]
    missing = [name for name in model.model_fields if f"`{name}`" not in section]
    assert not missing, f"docs/configuration.md's speakers section does not describe {model.__name__} fields {missing}"
