"""Each kind of mistake gives one issue with the right line, field path, message and hint."""

from __future__ import annotations

import pytest
from config_samples import BASE, line_of, replace_once

from vigie.config import ConfigError, ConfigIssue, VigieConfig, format_issues, load_config_text
from vigie.domain.camera import Purpose

CAM0 = "communes.0.sites.0.cameras.0"
CAM1 = "communes.0.sites.0.cameras.1"


def issues_of(text: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "test.yaml")
    return caught.value.issues


def only_issue(text: str) -> ConfigIssue:
    issues = issues_of(text)
    assert len(issues) == 1, format_issues(issues)
    return issues[0]


def test_base_fixture_is_valid() -> None:
    config = load_config_text(BASE, "test.yaml")
    assert isinstance(config, VigieConfig)
    assert config.camera_count == 2


def test_unknown_field_suggests_the_closest_name() -> None:
    text = replace_once(BASE, "              lon: 4.86\n", "              lon: 4.86\n              adress: 1 rue X\n")
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.location.adress"
    assert issue.line == line_of(text, "adress:")
    assert issue.column == 15
    assert "unknown field" in issue.message
    assert "did you mean `address`?" in issue.hint


def test_unknown_field_inside_a_zone_lists_that_zone_kind_fields() -> None:
    text = replace_once(BASE, "                direction: left_to_right\n", "                directon: left_to_right\n")
    issues = issues_of(text)
    unknown = next(i for i in issues if i.field.endswith("directon"))
    assert unknown.field == f"{CAM0}.zones.1.directon"
    assert unknown.line == line_of(text, "directon:")
    assert "did you mean `direction`?" in unknown.hint
    missing = next(i for i in issues if i.field.endswith(".direction"))
    assert missing.message == "required field is missing"


def test_unknown_purpose_lists_the_eleven_allowed_values() -> None:
    text = replace_once(BASE, "[public_buildings, crime_prevention]", "[public_buildings, video_protection]")
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.authorisation.purposes.1"
    assert issue.line == line_of(text, "video_protection")
    assert issue.column == text.splitlines()[issue.line - 1].index("video_protection") + 1
    assert "CSI L251-2" in issue.message
    for purpose in Purpose:
        assert purpose.value in issue.hint
    assert len(list(Purpose)) == 11


def test_misspelt_purpose_gets_a_suggestion() -> None:
    text = replace_once(BASE, "[public_buildings, crime_prevention]", "[public_buildings, crime_prevension]")
    assert "did you mean `crime_prevention`?" in only_issue(text).hint


def test_retention_over_thirty_days_names_the_legal_maximum() -> None:
    text = replace_once(
        BASE,
        "[public_buildings, crime_prevention]\n              retention_days: 15",
        "[public_buildings, crime_prevention]\n              retention_days: 31",
    )
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.authorisation.retention_days"
    assert issue.line == line_of(text, "retention_days: 31")
    assert issue.message == "must be at most 30"
    assert "legal maximum is 30 days" in issue.hint


def test_point_outside_the_frame_says_coordinates_are_normalised() -> None:
    text = replace_once(BASE, "[[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]", "[[0.1, 0.5], [1.2, 0.5], [0.5, 0.9]]")
    issue = only_issue(text)  # no extra "too short" noise for the dropped point
    assert issue.field == f"{CAM0}.zones.0.points.1.0"
    assert issue.line == line_of(text, "[1.2, 0.5]")
    assert issue.column == text.splitlines()[issue.line - 1].index("1.2") + 1
    assert "normalised" in issue.hint


def test_line_with_three_points() -> None:
    text = replace_once(BASE, "[[0.1, 0.3], [0.9, 0.3]]", "[[0.1, 0.3], [0.5, 0.3], [0.9, 0.3]]")
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.zones.1.points"
    assert issue.line == line_of(text, "[0.5, 0.3]")
    assert "at most 2" in issue.message
    assert "exactly 2 points" in issue.hint


def test_polygon_with_two_points_and_flat_polygon() -> None:
    two = replace_once(BASE, "[[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]", "[[0.1, 0.5], [0.9, 0.5]]")
    assert "at least 3 points" in only_issue(two).hint
    flat = replace_once(BASE, "[[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]", "[[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]]")
    issue = only_issue(flat)
    assert issue.field == f"{CAM0}.zones.0.points"
    assert "no area" in issue.message


def test_unknown_zone_kind_suggests_the_closest() -> None:
    text = replace_once(BASE, "- kind: analysis", "- kind: analyse")
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.zones.0"
    assert issue.line == line_of(text, "kind: analyse")
    assert "did you mean `analysis`?" in issue.hint


def test_duplicate_camera_id_points_at_the_second_one() -> None:
    text = replace_once(BASE, "- id: cam-002", "- id: cam-001")
    issue = only_issue(text)
    assert issue.field == f"{CAM1}.id"
    assert issue.line == line_of(text, "id: cam-001", occurrence=2)
    assert f"line {line_of(text, 'id: cam-001')}" in issue.message


def test_duplicate_camera_id_across_communes_and_duplicate_zone_id() -> None:
    second_commune = """\
  - id: voisine
    name: Commune voisine
    kind: state
    sites:
      - id: mairie
        name: Mairie
        cameras:
""" + BASE[BASE.index("          - id: cam-002") :].replace("cam-002", "cam-001")
    text = BASE + second_commune
    text = replace_once(text, "                id: entree\n", "                id: parvis\n")
    fields = {issue.field for issue in issues_of(text)}
    assert fields == {"communes.1.sites.0.cameras.0.id", f"{CAM0}.zones.1.id"}


def test_duplicate_commune_and_site_ids() -> None:
    text = BASE + BASE[BASE.index("  - id: belvedere") : BASE.index("          - id: cam-001")]
    text += "          []\n"
    text = text.replace(
        "      - id: mairie\n        name: Place de la Mairie\n        cameras:\n          []\n",
        "      - id: mairie\n        name: A\n      - id: mairie\n        name: B\n",
    )
    issues = issues_of(text)
    assert {i.field for i in issues} == {"communes.1.id", "communes.1.sites.1.id"}
    assert all("duplicate" in i.message for i in issues)


def test_valid_until_before_valid_from() -> None:
    text = replace_once(
        BASE,
        "valid_until: 2029-02-28\n              purposes: [public",
        "valid_until: 2023-02-28\n              purposes: [public",
    )
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.authorisation.valid_until"
    assert issue.line == line_of(text, "valid_until: 2023-02-28")
    assert "2023-02-28" in issue.message and "2024-03-01" in issue.message


def test_impossible_date_is_reported_on_its_field() -> None:
    text = replace_once(
        BASE,
        "valid_until: 2029-02-28\n              purposes: [public",
        "valid_until: 2029-02-30\n              purposes: [public",
    )
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.authorisation.valid_until"
    assert "YYYY-MM-DD" in issue.hint


def test_missing_required_field_points_at_its_parent() -> None:
    first_until = "              valid_until: 2029-02-28\n              purposes: [public_buildings"
    text = replace_once(BASE, first_until, "              purposes: [public_buildings")
    issue = only_issue(text)
    assert issue.field == f"{CAM0}.authorisation.valid_until"
    assert issue.line == line_of(text, "authorisation:")
    assert issue.message == "required field is missing"
    assert issue.hint.startswith("add `valid_until:`")


def test_missing_stream_of_a_camera_points_at_the_camera() -> None:
    text = replace_once(BASE, "            main_stream: rtsp://cam-002.example.invalid/stream1\n", "")
    issue = only_issue(text)
    assert issue.field == f"{CAM1}.main_stream"
    assert issue.line == line_of(text, "- id: cam-002")


def test_yaml_syntax_error_has_line_and_column() -> None:
    text = replace_once(BASE, "    name: Ville de Belvédère\n", "    name: [Ville de Belvédère\n")
    issue = only_issue(text)
    assert issue.field == ""
    assert "YAML syntax error" in issue.message
    assert issue.line is not None and issue.column is not None
    assert line_of(text, "name: [Ville") <= issue.line <= line_of(text, "name: [Ville") + 3


def test_tab_indentation_gets_a_specific_hint() -> None:
    issue = only_issue("version: 1\napi:\n\tport: 8080\n")
    assert issue.line == 3
    assert "tabs" in issue.hint


def test_duplicate_yaml_key_is_reported_even_when_the_model_is_valid() -> None:
    text = replace_once(BASE, "api:\n  port: 8080\n", "api:\n  port: 8080\n  port: 8081\n")
    issue = only_issue(text)
    assert issue.field == "api.port"
    assert issue.line == line_of(text, "port: 8081")
    assert "twice" in issue.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- version: 1\n", "mapping"),
        ("just text\n", "mapping"),
    ],
)
def test_empty_or_not_a_mapping(text: str, expected: str) -> None:
    assert expected in only_issue(text).message


def test_wrong_version() -> None:
    issue = only_issue(replace_once(BASE, "version: 1", "version: 2"))
    assert issue.field == "version"
    assert issue.line == 1
    assert "1" in issue.hint


def test_unquoted_insee_code_suggests_quotes() -> None:
    issue = only_issue(replace_once(BASE, 'insee_code: "69999"', "insee_code: 69999"))
    assert issue.field == "communes.0.insee_code"
    assert "quotes" in issue.hint


def test_several_errors_are_reported_together_in_file_order() -> None:
    text = BASE
    text = replace_once(text, "  port: 8080", "  prot: 8080")
    text = replace_once(text, "[[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]", "[[0.1, 0.5], [0.9, -0.5], [0.5, 0.9]]")
    text = replace_once(text, "- id: cam-002", "- id: cam-001")
    text = replace_once(text, "purposes: [crime_prevention]", "purposes: [crime]")
    text = replace_once(text, "              lat: 45.78", "              lat: 145.78")
    issues = issues_of(text)
    assert [i.field for i in issues] == [
        "api.prot",
        f"{CAM0}.zones.0.points.1.1",
        f"{CAM1}.id",
        f"{CAM1}.location.lat",
        f"{CAM1}.authorisation.purposes.0",
    ]
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)
    assert "WGS84" in issues[3].hint


def test_credentials_never_appear_in_issues() -> None:
    secret = "s3cr3t-Pa55"
    text = replace_once(
        BASE,
        "main_stream: rtsp://cam-002.example.invalid/stream1",
        f"main_stream: ftp://operator:{secret}@cam-002.example.invalid/stream1",
    )
    text = replace_once(
        text, "database_url: sqlite:///var/vigie.db", f"database_url: oracle://vigie:{secret}@db.example.invalid/x"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "test.yaml")
    rendered = format_issues(caught.value.issues)
    assert len(caught.value.issues) == 2
    assert secret not in rendered
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "ftp://***@cam-002.example.invalid/stream1" in rendered
    assert "oracle://***@db.example.invalid/x" in rendered


def test_factory_credentials_are_refused_and_redacted() -> None:
    text = replace_once(
        BASE,
        "main_stream: rtsp://cam-002.example.invalid/stream1",
        "main_stream: rtsp://admin:12345@cam-002.example.invalid/stream1",
    )
    issue = only_issue(text)
    assert "factory credentials" in issue.message
    assert "12345" not in issue.format()
    assert "L17" in issue.hint


def test_issue_redacts_whatever_built_it() -> None:
    issue = ConfigIssue("f.yaml", 1, 2, "x", "cannot open rtsp://u:p4ss@h/s", "try rtsp://u:p4ss@h/t")
    assert "p4ss" not in issue.format()


def test_format_issues_layout() -> None:
    issues = [
        ConfigIssue("f.yaml", 3, 5, "api.port", "must be at most 65535", "TCP port"),
        ConfigIssue("f.yaml", None, None, "", "file not found"),
    ]
    assert format_issues(issues) == (
        "f.yaml:3:5: api.port: must be at most 65535 (hint: TCP port)\nf.yaml: file not found"
    )
