"""The territory file: read whole, refused whole with every problem named."""

from pathlib import Path

import pytest

from mutualis.adapters.territory_file import parse_territory, territory_document
from mutualis.domain.errors import TerritoryFileError
from mutualis.domain.territory import Commune, EquipmentKind, Modality, TimeRange

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mini.toml"


def _text() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _problems(text: str, communes: dict[str, Commune]) -> list[str]:
    with pytest.raises(TerritoryFileError) as caught:
        parse_territory("bad.toml", text, communes)
    assert caught.value.source == "bad.toml"
    return [str(p) for p in caught.value.problems]


def test_reads_every_section(communes: dict[str, Commune]) -> None:
    t = parse_territory("mini.toml", _text(), communes)
    assert [s.id for s in t.sites] == ["rodez", "espalion", "clinique"]
    mr = t.equipment[0]
    assert mr.modality is Modality.MR and mr.kind is EquipmentKind.IMAGING
    assert mr.opening_hours["mon"] == (TimeRange(480, 750), TimeRange(810, 1200))
    assert mr.closures[0].end.day == 27  # inclusive end date: closed through the 26th
    assert t.conventions[0].contribution_keys == {"120000013": 0.7, "120000021": 0.3}
    assert t.conventions[0].privileges[0].sites == ("rodez", "espalion")
    assert t.exams[1].radiologist_on_site is True


def test_document_uses_the_file_field_names(communes: dict[str, Commune]) -> None:
    doc = territory_document(parse_territory("mini.toml", _text(), communes), communes)
    assert set(doc) == {"territory", "establishments", "sites", "equipment", "practitioners", "conventions", "exams"}
    assert doc["sites"][0] | {} == doc["sites"][0] and doc["sites"][0]["commune"] == "Rodez"
    assert doc["equipment"][0]["ae_title"] == "MINI_MR1"
    assert doc["equipment"][0]["opening_hours"]["mon"] == ["08:00-12:30", "13:30-20:00"]
    assert doc["practitioners"][0]["rpps"] == "10000000017"


def test_wrong_finess_key_and_unknown_site_are_both_named(communes: dict[str, Commune]) -> None:
    text = _text().replace('finess = "120000013"', 'finess = "120000014"', 1).replace(
        'site = "espalion"', 'site = "millau"', 1)
    problems = _problems(text, communes)
    assert any(p.startswith("establishments[0].finess:") and "invalid FINESS key" in p for p in problems)
    assert any(p.startswith("equipment[1].site:") and "unknown site 'millau'" in p for p in problems)


def test_hours_overlapping_or_inverted(communes: dict[str, Commune]) -> None:
    text = _text().replace('tue = ["08:00-20:00"]', 'tue = ["08:00-13:00", "12:00-18:00"]\nwed = ["18:00-08:00"]')
    problems = _problems(text, communes)
    assert any(p.startswith("equipment[0].opening_hours.tue[1]:") and "overlap" in p for p in problems)
    assert any(p.startswith("equipment[0].opening_hours.wed[0]:") and "inverted" in p for p in problems)


def test_unknown_modality_exam_and_reference(communes: dict[str, Commune]) -> None:
    text = (_text().replace('modality = "US"\nae_title', 'modality = "XX"\nae_title', 1)
            .replace('id = "clinique-scanner"', 'id = "clinique-scanner"\nexams = ["IRM-CHEVILLE"]')
            .replace('rpps = "10000000017"\nsites', 'rpps = "10000000099"\nsites'))
    problems = _problems(text, communes)
    assert any(p.startswith("equipment[1].modality:") and "'XX'" in p for p in problems)
    assert any(p.startswith("equipment[2].exams[0]:") and "unknown exam" in p for p in problems)
    assert any(p.startswith("conventions[0].privileges[0].rpps:") and "unknown practitioner" in p for p in problems)


def test_privilege_outside_the_convention_and_bad_shares(communes: dict[str, Commune]) -> None:
    text = (_text().replace('sites = ["rodez", "espalion"]', 'sites = ["rodez", "clinique"]')
            .replace('"120000021" = 0.3', '"120000021" = 0.5'))
    problems = _problems(text, communes)
    assert any(p.startswith("conventions[0].privileges[0].sites[1]:") and "not on a member" in p for p in problems)
    assert any(p.startswith("conventions[0].contribution_keys:") and "1.2" in p for p in problems)


def test_identifiers_and_commune(communes: dict[str, Commune]) -> None:
    text = (_text().replace('rpps = "10000000025"', 'rpps = "10000000026"')
            .replace('insee = "12096"', 'insee = "99999"').replace('ccam = "NZQN001"', 'ccam = "NZQ001"'))
    problems = _problems(text, communes)
    assert any(p.startswith("practitioners[1].rpps:") and "RPPS key" in p for p in problems)
    assert any(p.startswith("sites[1].insee:") and "unknown INSEE" in p for p in problems)
    assert any(p.startswith("exams[0].ccam:") for p in problems)


def test_shape_errors_are_named_with_their_key_path(communes: dict[str, Commune]) -> None:
    text = _text().replace('duration_min = 20\nccam = "NZQN001"', 'duration_min = "vingt"\nccam = "NZQN001"').replace(
        'station_name = "MINIMR1"', 'station_nom = "MINIMR1"')
    problems = _problems(text, communes)
    assert any(p.startswith("exams[0].duration_min:") and "expected int" in p for p in problems)
    assert any(p.startswith("equipment[0].station_nom:") and "unknown key" in p for p in problems)


def test_missing_required_field(communes: dict[str, Commune]) -> None:
    problems = _problems(_text().replace('name = "IRM du genou"\n', "").replace('label = "IRM du genou"\n', ""),
                         communes)
    assert any(p == "exams[0].label: required" for p in problems)


def test_toml_syntax_error(communes: dict[str, Commune]) -> None:
    problems = _problems(_text() + "\n[[exams]\n", communes)
    assert problems[0].startswith("(syntax):")


def test_reading_settings_round_trip_and_errors(communes: dict[str, Commune]) -> None:
    from datetime import timedelta

    from mutualis.domain.reading_settings import ReadingMode

    base = _text()
    good = base.replace("[territory]", '[territory]\nreading = { mode = "push", due_hours = { urgent = 0.5 }, '
                                       "l2_yearly_minimum = 2000, reading_minutes = { CT = 12, IRM-GENOU = 18 } }", 1)
    t = parse_territory("mini.toml", good, communes)
    assert t.reading.mode is ReadingMode.PUSH and t.reading.urgent_due == timedelta(minutes=30)
    assert t.reading.inpatient_due == timedelta(hours=24) and t.reading.l2_yearly_minimum == 2000
    assert t.reading.reading_minutes["CT"] == 12 and t.reading.reading_minutes["MR"] == 20
    assert t.reading.minutes_for("MR", "IRM-GENOU") == 18 and t.reading.minutes_for("MR", "IRM-AUTRE") == 20
    typo = base.replace("[territory]", "[territory]\nreading = { reading_minutes = { IRM-GENOUX = 18 } }", 1)
    assert any("territory.reading.reading_minutes.IRM-GENOUX" in p and "exam code" in p
               for p in _problems(typo, communes))
    again = territory_document(t, communes)["territory"]["reading"]
    assert again["mode"] == "push" and again["due_hours"]["urgent"] == 0.5
    bad = base.replace("[territory]", '[territory]\nreading = { mode = "shout", due_hours = { urgent = -1, soon = 2 }, '
                                      "escalation_share = 1.5 }", 1)
    problems = _problems(bad, communes)
    assert any("territory.reading.mode" in p for p in problems)
    assert any("territory.reading.due_hours.urgent" in p for p in problems)
    assert any("territory.reading.due_hours.soon" in p for p in problems)
    assert any("territory.reading.escalation_share" in p for p in problems)
