"""The plate grammar: which strings are plates of which format, and the look-alike corrections it allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigie.lpr import formats
from vigie.lpr.formats import SIV_LETTERS, candidates, classify, normalise, read, windows

siv_letter = st.sampled_from(sorted(SIV_LETTERS))
digit = st.sampled_from("0123456789")


@st.composite
def siv_plates(draw: st.DrawFn) -> str:
    left = draw(st.tuples(siv_letter, siv_letter).map("".join).filter(lambda s: s not in ("SS", "WW")))
    number = draw(st.integers(1, 999))
    right = draw(st.tuples(siv_letter, siv_letter).map("".join).filter(lambda s: s != "SS"))
    return f"{left}{number:03d}{right}"


@pytest.mark.parametrize(
    ("raw", "text", "plate_format", "display"),
    [
        ("AB-123-CD", "AB123CD", "FR-SIV", "AB-123-CD"),
        ("ab 123 cd", "AB123CD", "FR-SIV", "AB-123-CD"),
        ("1234 AB 56", "1234AB56", "FR-FNI", "1234 AB 56"),
        ("20 CEY 44", "20CEY44", "FR-FNI", "20 CEY 44"),
        ("123 ABC 2A", "123ABC2A", "FR-FNI", "123 ABC 2A"),
        ("456 AZ 974", "456AZ974", "FR-FNI", "456 AZ 974"),
        ("W-304-JF", "W304JF", "FR-W", "W-304-JF"),
        ("WW-123-AB", "WW123AB", "FR-WW", "WW-123-AB"),
        ("RK 755-AJ", "RK755AJ", "FR-SIV", "RK-755-AJ"),  # a Slovak plate is also a valid SIV string
        ("RK 340-AO", "RK340AO", "SK", "RK-340AO"),  # O is never issued in France
        ("ZG 1234-AB", "ZG1234AB", "HR", "ZG 1234-AB"),
        ("ST 567-K", "ST567K", "HR", "ST 567-K"),
        ("1B8 0338", "1B80338", "CZ", "1B8 0338"),
        ("BSE 55-79", "BSE5579", "CS", "BSE 55-79"),
        ("M5XSX", "M5XSX", "EU-generic", "M5XSX"),
    ],
)
def test_plates_are_read_in_their_format(raw: str, text: str, plate_format: str, display: str) -> None:
    reading = read(raw)
    assert reading is not None
    assert (reading.text, reading.plate_format, reading.display) == (text, plate_format, display)
    assert reading.corrected == (normalise(raw) != text)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ABC",  # too short for any format
        "ABCDEFG",  # no digit
        "123456789",  # too long, no letter
    ],
)
def test_what_is_no_plate_is_refused(raw: str) -> None:
    assert read(raw) is None


def test_fni_departments_are_checked() -> None:
    assert classify("1234AB75") == "FR-FNI"
    assert classify("1234AB00") != "FR-FNI"  # no department 00
    assert classify("1234AB2C") != "FR-FNI"  # Corsica is 2A or 2B
    assert classify("1234AB977") != "FR-FNI"  # overseas: 971 to 976


def test_a_string_needing_many_swaps_is_not_a_plate() -> None:
    assert read("123456789") is None  # "1234 SGT 89" would swap three digits


def test_siv_rules_ss_ww_and_000_are_never_siv() -> None:
    assert classify("SS123AB") != "FR-SIV"
    assert classify("AB123SS") != "FR-SIV"
    assert classify("WW123AB") == "FR-WW"
    assert classify("AB000CD") != "FR-SIV"
    assert classify("AI123CD") != "FR-SIV"  # I, O, U are never issued
    assert classify("AB123CU") != "FR-SIV"


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("A8-123-CD", "AB123CD"),  # 8 where a letter belongs
        ("AB-1Z3-CD", "AB123CD"),  # Z where a digit belongs
        ("AB-I23-CD", "AB123CD"),
        ("AB-123-C0", None),  # 0 → O, D or Q: several readings, the grammar does not choose
        ("G5-123-CD", "GS123CD"),
        ("1234 A8 56", "1234AB56"),  # 123 AAB 56 swaps two characters: the fewest swaps win
    ],
)
def test_look_alikes_are_corrected_only_where_one_reading_results(raw: str, fixed: str | None) -> None:
    reading = read(raw)
    if fixed is None:
        assert reading is None or not reading.corrected
    else:
        assert reading is not None
        assert reading.text == fixed
        assert reading.corrected


def test_ambiguous_corrections_are_all_offered_to_the_reader() -> None:
    offered = {r.text for r in candidates("AB123C0")}
    assert {"AB123CD", "AB123CQ"} <= offered
    assert read("AB123C0") is None
    # Czech as read, Czechoslovak with the 8 a B: the grammar keeps what was read, the reader's image decides.
    assert read("8SE5579") == formats.Reading("8SE5579", "CZ", corrected=False)
    assert formats.Reading("BSE5579", "CS", corrected=True) in candidates("8SE5579")


def test_a_slovak_plate_is_not_taken_for_a_croatian_one() -> None:
    """Slovak plates have exactly 3 digits and 2 letters; Croatian ones 3–4 digits, 1–2 letters, and a closed list of
    area codes. A Slovak ``BA-302OZ`` whose O was read 0 is no Croatian ``BA 3020-Z`` (no area BA): the grammar
    offers the letters a 0 can be where a Slovak plate has a letter, and no Croatian reading."""
    offered = candidates("BA3020Z")
    assert formats.Reading("BA302OZ", "SK", corrected=True) in offered
    assert all(r.plate_format != "HR" for r in offered)
    assert formats.Reading("BA268IM", "SK", corrected=True) in candidates("BA2681M")
    # A Croatian area code keeps the Croatian reading of 4 digits and a letter.
    assert read("ZG3020Z") == formats.Reading("ZG3020Z", "HR", corrected=False)
    assert classify("BA3020Z") == "EU-generic"


@given(siv_plates())
def test_every_issued_siv_plate_reads_as_itself(text: str) -> None:
    reading = read(text)
    assert reading is not None
    assert (reading.text, reading.plate_format, reading.corrected) == (text, "FR-SIV", False)
    assert normalise(reading.display) == text
    assert read(reading.display) == reading


@given(siv_plates(), st.integers(2, 4))
def test_a_digit_read_as_its_look_alike_letter_comes_back(text: str, position: int) -> None:
    """A SIV number's 0, 1, 5, 8 read as O, I, S, B is put back: the letter is impossible there."""
    swap = {"0": "O", "1": "I", "5": "S", "8": "B"}
    if text[position] not in swap:
        return
    damaged = text[:position] + swap[text[position]] + text[position + 1 :]
    reading = read(damaged)
    assert reading is not None
    assert reading.text == text
    assert reading.corrected


@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTVWXYZ0123456789-  ", max_size=12))
def test_read_is_normalised_and_never_longer_than_the_input(raw: str) -> None:
    reading = read(raw)
    if reading is not None:
        assert reading.text.isalnum()
        assert len(reading.text) == len(normalise(raw))
        assert reading.plate_format in formats.FORMAT_NAMES


def test_windows_cut_the_band_letter_and_the_department() -> None:
    cut = [(left, right, text) for left, right, text in windows("F AB-123-CD 75")]
    assert (1, 2, "AB123CD") in cut
    assert cut[0] == (0, 0, "FAB123CD75")
