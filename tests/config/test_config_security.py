"""``api.tls`` and ``security`` (L15): what the file accepts and refuses, and every field documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from vigie.config.models import ApiSettings, SecuritySettings, TlsSettings, VigieConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def load(**sections: object) -> VigieConfig:
    return VigieConfig.model_validate({"version": 1, **sections})


def test_tls_and_secrets_settings_are_read() -> None:
    config = load(
        storage={"data_dir": "/var/lib/vigie"},
        api={"tls": {"certificate_file": "/etc/vigie/tls/fullchain.pem", "private_key_file": "/etc/vigie/tls/key.pem"}},
        security={"secrets_key_file": "/etc/vigie/secrets.key", "fix_key_permissions": True},
    )
    assert config.api.tls == TlsSettings(
        certificate_file=Path("/etc/vigie/tls/fullchain.pem"), private_key_file=Path("/etc/vigie/tls/key.pem")
    )
    assert config.security.secrets_key_file == Path("/etc/vigie/secrets.key")
    assert config.security.passphrase_env == "VIGIE_SECRETS_PASSPHRASE"
    defaults = load()
    assert defaults.api.tls is None and defaults.security == SecuritySettings()


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"api": {"tls": {"certificate_file": "/c.pem"}}}, "private_key_file"),
        ({"api": {"tls": {"certificate_file": "/c", "private_key_file": "/k", "password": "x"}}}, "password"),
        ({"security": {"passphrase": "in the file"}}, "passphrase"),
        ({"security": {"passphrase_env": "not a name"}}, "passphrase_env"),
        (
            {"storage": {"data_dir": "/srv/vigie"}, "security": {"secrets_key_file": "/srv/vigie/keys/../secrets.key"}},
            "is inside the data directory",
        ),
    ],
)
def test_what_is_refused(sections: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        load(**sections)
    assert "in the file" not in str(caught.value)


def test_a_key_file_beside_the_data_folder_is_accepted() -> None:
    config = load(storage={"data_dir": "/srv/vigie"}, security={"secrets_key_file": "/srv/vigie.secrets-key"})
    assert config.security.secrets_key_file == Path("/srv/vigie.secrets-key")


@pytest.mark.parametrize("model", [ApiSettings, TlsSettings, SecuritySettings], ids=lambda m: m.__name__)
def test_every_field_is_in_the_configuration_guide(model: type[BaseModel]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in model.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not describe {model.__name__} fields {missing}"
