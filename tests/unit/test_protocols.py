"""Which protocol version is in force on a day, and what a new protocol or version must say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from mutualis.domain.protocols import (
    Protocol,
    ProtocolKind,
    ProtocolVersion,
    in_force,
    protocol_problems,
    version_problems,
    version_state,
)
from mutualis.services.volumes import complex_site, is_resection, project

PARIS = ZoneInfo("Europe/Paris")
TEXT = "Réhabilitation améliorée après chirurgie colorectale : boisson sucrée 2 h avant, pas de sonde."


def v(n: int, approved: datetime, effective: date) -> ProtocolVersion:
    return ProtocolVersion(n, f"{TEXT} (v{n})", "coord", approved, effective, n)


V1 = v(1, datetime(2025, 1, 10, 9, tzinfo=UTC), date(2025, 2, 1))
V2 = v(2, datetime(2026, 3, 2, 9, tzinfo=UTC), date(2026, 4, 1))


def test_the_version_in_force_on_a_past_date_is_the_one_of_that_date_not_todays() -> None:
    assert in_force([V1, V2], date(2026, 5, 1)) == V2  # "today"
    assert in_force([V1, V2], date(2025, 6, 15)) == V1
    assert in_force([V1, V2], date(2026, 3, 31)) == V1  # v2 approved, not yet effective
    assert in_force([V1, V2], date(2026, 4, 1)) == V2
    assert in_force([V1, V2], date(2025, 1, 31)) is None  # before anything took effect


def test_a_version_approved_later_but_effective_earlier_is_not_in_force_before_its_approval() -> None:
    backdated = v(2, datetime(2026, 3, 20, 9, tzinfo=UTC), date(2026, 1, 1))
    assert in_force([V1, backdated], date(2026, 2, 1)) == V1
    assert in_force([V1, backdated], date(2026, 3, 19)) == V1
    assert in_force([V1, backdated], date(2026, 3, 20)) == backdated
    assert backdated.starts() == date(2026, 3, 20)


def test_the_approval_day_is_taken_in_the_territorys_time_zone() -> None:
    late = v(2, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), date(2026, 3, 1))  # 1 April, 00:30 in Paris
    assert in_force([V1, late], date(2026, 3, 31)) == late  # in UTC it was still 31 March
    assert in_force([V1, late], date(2026, 3, 31), PARIS) == V1
    assert in_force([V1, late], date(2026, 4, 1), PARIS) == late


def test_a_later_approval_supersedes_an_earlier_one() -> None:
    v2 = v(2, datetime(2026, 3, 2, 9, tzinfo=UTC), date(2026, 6, 1))
    v3 = v(3, datetime(2026, 3, 9, 9, tzinfo=UTC), date(2026, 5, 1))  # a correction before v2 took effect
    assert in_force([V1, v2, v3], date(2026, 5, 15)) == v3
    assert in_force([V1, v2, v3], date(2026, 7, 1)) == v3
    assert version_state(v2, V1, date(2026, 3, 10)) == "upcoming"
    assert version_state(V1, V1, date(2026, 3, 10)) == "in_force"
    assert version_state(V1, v3, date(2026, 6, 10)) == "superseded"


def test_validation_problems_name_their_field() -> None:
    bad = Protocol("vienne-fmih", "Not A Code!", " ", ProtocolKind.CARE, ("dance",), ("000000000", "000000000"))
    problems = protocol_problems(bad, {"867470833"}, {"theatre"})
    fields = {p.location for p in problems}
    assert fields == {"code", "title", "establishments", "activities"}
    assert any("unknown establishment '000000000'" in p.reason for p in problems)
    assert any("unknown activity 'dance'" in p.reason for p in problems)
    empty = Protocol("vienne-fmih", "raac", "RAAC", ProtocolKind.CARE, (), ())
    assert {p.location for p in protocol_problems(empty, {"867470833"}, {"theatre"})} == {"establishments",
                                                                                        "activities"}
    good = Protocol("vienne-fmih", "raac-colorectal", "RAAC", ProtocolKind.CARE, ("theatre",), ("867470833",))
    assert protocol_problems(good, {"867470833"}, {"theatre"}) == []
    assert {p.location for p in version_problems("trop court", None)} == {"text", "effective_from"}
    assert [p.location for p in version_problems(V1.text, date(2026, 1, 1), [V1])] == ["text"]
    assert version_problems(TEXT, date(2026, 1, 1), [V1]) == []


def test_procedures_map_to_complex_sites() -> None:
    assert complex_site("proctectomie-coelio") == "rectum"
    assert complex_site("segmentectomie-hepatique") == "liver"  # no "hepatectomie" in it
    assert complex_site("hepatectomie-gauche-elargie") == "liver"
    assert complex_site("duodenopancreatectomie") == "pancreas"
    assert complex_site("gastrectomie-totale") == complex_site("gastrectomie-partielle") == "stomach"
    assert complex_site("oesophagectomie") == "oesophagus"
    assert complex_site("oesogastrectomie-polaire") == "oesophagus"
    assert complex_site("colectomie-gauche") is None and is_resection("colectomie-gauche")
    assert is_resection("hartmann") and is_resection("amputation-abdomino-perineale")
    assert not is_resection("hernie-inguinale-prothese") and not is_resection("cure-eventration")


def test_the_projection_counts_booked_days_once() -> None:
    # 100 days elapsed, 10 performed; booked 3 up to day 130 of 365: 235 days left unprogrammed
    assert project(10, 3, elapsed=100, beyond=235) == 36.5
    assert project(0, 4, elapsed=0, beyond=365) == 4.0  # a year not begun: what is booked
    assert project(28, 0, elapsed=365, beyond=0) == 28.0  # a past year: what was performed
