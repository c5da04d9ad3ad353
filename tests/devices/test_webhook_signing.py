"""Standard Webhooks signatures (issue 21): the specification's published test vector, and the receiver's check
docs/integrations.md gives to copy."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from vigie.devices.webhooks.signing import (
    WebhookSecretError,
    WebhookVerificationError,
    decode_secret,
    sign,
    verify,
)

# The test vector of the specification's reference libraries (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str = SPEC_SIGNATURE, timestamp: int = SPEC_TIMESTAMP) -> dict[str, str]:
    return {"Webhook-Id": SPEC_ID, "Webhook-Timestamp": str(timestamp), "Webhook-Signature": signature}


def test_the_specification_test_vector() -> None:
    assert sign(decode_secret(SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_receiver_accepts_a_signed_request_within_the_tolerance() -> None:
    verify(SPEC_SECRET, headers(), SPEC_BODY, now=SPEC_TIMESTAMP + 299)
    # a secret being rotated: several signatures, one of them right
    verify(SPEC_SECRET, headers("v1,bm9wZQ== v2,abc " + SPEC_SIGNATURE), SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize(
    ("case", "given", "body", "now"),
    [
        ("a changed body", headers(), b'{"test": 2432232315}', SPEC_TIMESTAMP),
        ("another signature", headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), SPEC_BODY, SPEC_TIMESTAMP),
        ("an old request (replay)", headers(), SPEC_BODY, SPEC_TIMESTAMP + 301),
        ("a request from the future", headers(), SPEC_BODY, SPEC_TIMESTAMP - 301),
        ("no signature header", {"webhook-id": SPEC_ID, "webhook-timestamp": "1"}, SPEC_BODY, 1),
        ("a timestamp that is no number", headers(timestamp=0) | {"webhook-timestamp": "hier"}, SPEC_BODY, 0),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_a_receiver_refuses(case: str, given: dict[str, str], body: bytes, now: int) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(SPEC_SECRET, given, body, now=now)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_"),
        ("whsec_not base64!", "not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "5 bytes"),
    ],
)
def test_a_malformed_secret_is_refused_without_being_shown(secret: str, why: str) -> None:
    with pytest.raises(WebhookSecretError, match=why) as caught:
        decode_secret(secret)
    assert secret not in str(caught.value)


def test_the_function_docs_give_receivers_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/integrations.md's `verify` for receivers to copy: run as written, on the specification's vector."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text(encoding="utf-8")
    code = text.split("### Verifying a request (receivers)", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    monkeypatch.setattr(time, "time", lambda: float(SPEC_TIMESTAMP + 10))
    namespace["verify"](SPEC_SECRET, headers(), SPEC_BODY)
    with pytest.raises(ValueError, match="bad signature"):
        namespace["verify"](SPEC_SECRET, headers(), SPEC_BODY + b" ")
    monkeypatch.setattr(time, "time", lambda: float(SPEC_TIMESTAMP + 301))
    with pytest.raises(ValueError, match="too old"):
        namespace["verify"](SPEC_SECRET, headers(), SPEC_BODY)
