"""Hit-list files (L35): a tenant's list is kept only when the file is the one vouched for, and whole."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigie.domain.plates import HitListEntry
from vigie.lpr.hitlists import (
    MAX_FILE_BYTES,
    HitListError,
    HitListVerificationError,
    key_id,
    load_public_key,
    parse_hit_list,
    read_hit_list,
)

LIST = (
    "# export du 3 mars\n"
    "plate\treason\tlist\n"
    "AB-123-CD\tvol déclaré 2025-118\tvoles\n"
    "\n"
    "1234 ab 56\trecherche, affaire 77\trecherches\n"
).encode()


def test_a_file_gives_normalised_plates_with_their_reason_and_list() -> None:
    assert parse_hit_list(LIST) == (
        HitListEntry("AB123CD", "vol déclaré 2025-118", "voles"),
        HitListEntry("1234AB56", "recherche, affaire 77", "recherches"),
    )


def test_the_header_sets_the_column_order_and_the_separator() -> None:
    data = b"list;plate;reason\nvoles;ab 123 cd;vol\n"
    assert parse_hit_list(data) == (HitListEntry("AB123CD", "vol", "voles"),)


def test_a_byte_order_mark_is_accepted() -> None:
    assert len(parse_hit_list(b"\xef\xbb\xbf" + LIST)) == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"AB123CD\tvol\tvoles\n", "line 1: the header must name the columns plate, reason, list"),
        (b"plate\treason\tlist\nAB123CD\tvol\n", "line 2: 2 field(s) where the header has 3, separated by a tab"),
        (b"plate,reason,list\nAB123CD,vol, recel,voles\n", "line 2: 4 field(s)"),
        (b"plate\treason\tlist\n-\tvol\tvoles\n", "line 2: '-' is not a plate"),
        (b"plate\treason\tlist\nAB123CD\t\tvoles\n", "line 2: the reason must be 1 to 200 characters"),
        (b"plate\treason\tlist\nAB123CD\tvol\tVoles\n", "line 2: list name 'Voles' must be lower-case"),
        (b"plate\treason\tlist\nAB123CD\tvol\tvoles\nab-123-cd\tvol\tvoles\n", "line 3: plate AB123CD is already"),
        (b"plate\treason\tlist\n", "no plate"),
        (b"# nothing\n", "no header line"),
        (b"plate\treason\tlist\nAB123CD\tvol\xe9\tvoles\n", "line 2: not UTF-8 text"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_line_and_the_fix(data: bytes, expected: str) -> None:
    with pytest.raises(HitListError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_hit_list(data)


def test_an_oversized_file_is_refused_before_it_is_read() -> None:
    with pytest.raises(HitListError, match="at most"):
        parse_hit_list(b"#" * (MAX_FILE_BYTES + 1))


def test_the_checksum_given_must_be_the_files() -> None:
    digest = hashlib.sha256(LIST).hexdigest()
    read = read_hit_list(LIST, checksum=f"sha256:{digest.upper()}")
    assert (read.sha256, read.verified_by, read.list_names) == (digest, "checksum", ("recherches", "voles"))
    with pytest.raises(HitListVerificationError, match=f"not the {digest} given"):
        read_hit_list(LIST + b"EF456GH\tvol\tvoles\n", checksum=digest)
    with pytest.raises(HitListVerificationError, match="64 hexadecimal digits"):
        read_hit_list(LIST, checksum="abc")


def test_exactly_one_way_of_vouching_is_needed() -> None:
    with pytest.raises(HitListVerificationError, match="exactly one"):
        read_hit_list(LIST)


def _key() -> tuple[Ed25519PrivateKey, str, dict[str, Ed25519PublicKey]]:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public = load_public_key(pem)
    return private, key_id(public), {key_id(public): public}


def test_a_signature_by_a_registered_key_vouches_for_the_file_raw_or_base64() -> None:
    private, name, keys = _key()
    signature = private.sign(LIST)
    assert read_hit_list(LIST, signature=signature, keys=keys).verified_by == f"signature:{name}"
    assert read_hit_list(LIST, signature=base64.b64encode(signature), keys=keys).verified_by == f"signature:{name}"


def test_a_signature_of_another_file_or_by_an_unregistered_key_is_refused() -> None:
    private, _, keys = _key()
    other, _, _ = _key()
    with pytest.raises(HitListVerificationError, match="verifies with none"):
        read_hit_list(LIST + b"\n", signature=private.sign(LIST), keys=keys)
    with pytest.raises(HitListVerificationError, match="verifies with none"):
        read_hit_list(LIST, signature=other.sign(LIST), keys=keys)
    with pytest.raises(HitListVerificationError, match="no public key is registered"):
        read_hit_list(LIST, signature=private.sign(LIST), keys={})
    with pytest.raises(HitListVerificationError, match="64 bytes"):
        read_hit_list(LIST, signature=b"not a signature", keys=keys)


def test_a_key_that_is_not_ed25519_pem_is_refused() -> None:
    with pytest.raises(HitListError, match="not a PEM public key"):
        load_public_key(b"hello", "issuer.pem")
