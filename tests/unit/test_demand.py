"""The demand generator: reproducible, valid identifiers, and volumes that follow capacity,
population and the priority mix. Expected numbers are worked out by hand from the territory
files, not taken from the module."""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from datetime import date, timedelta

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.identifiers import check_nir, check_rpps
from mutualis.domain.orders import Priority, Sex, patient_problems
from mutualis.domain.territory import (
    Commune,
    Equipment,
    Establishment,
    Exam,
    Modality,
    Site,
    Territory,
    TimeRange,
)
from mutualis.engines.demand import (
    DemandSettings,
    GeneratedOrder,
    age_on,
    generate_demand,
    modality_demand,
    poisson,
)
from mutualis.engines.travel import great_circle_km
from tests.conftest import ROOT

START = date(2026, 3, 2)  # a Monday
DAYS = 91  # 13 whole weeks
WEEKS = DAYS / 7
P = Priority


@pytest.fixture(scope="module")
def aveyron(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)


@pytest.fixture(scope="module")
def orders(aveyron: Territory, communes: dict[str, Commune]) -> list[GeneratedOrder]:
    return generate_demand(aveyron, communes, START, DAYS, seed=7)


def _exam_modality(t: Territory) -> dict[str, Modality | None]:
    return {e.code: e.modality for e in t.exams}


def test_same_seed_same_orders_sorted(aveyron: Territory, communes: dict[str, Commune]) -> None:
    a = generate_demand(aveyron, communes, START, 14, seed=42)
    b = generate_demand(aveyron, communes, START, 14, seed=42)
    assert a == b
    assert len(a) > 500
    keys = [(o.requested_at, o.exam) for o in a]
    assert keys == sorted(keys)
    assert {o.requested_at.date() for o in a} == {START + timedelta(days=i) for i in range(14)}


def test_other_seed_other_orders(aveyron: Territory, communes: dict[str, Commune]) -> None:
    a = generate_demand(aveyron, communes, START, 14, seed=1)
    b = generate_demand(aveyron, communes, START, 14, seed=2)
    assert a != b
    assert [o.exam for o in a] != [o.exam for o in b]
    assert len({o.patient.nir for o in a} & {o.patient.nir for o in b}) < 10


def test_no_days_and_negative_days(aveyron: Territory, communes: dict[str, Commune]) -> None:
    assert generate_demand(aveyron, communes, START, 0, seed=1) == []
    with pytest.raises(ValueError, match="days"):
        generate_demand(aveyron, communes, START, -1, seed=1)


def test_every_nir_is_valid_and_matches_the_patient(orders: list[GeneratedOrder],
                                                    communes: dict[str, Commune]) -> None:  # fmt: skip
    for o in orders:
        p = o.patient
        assert p.id is None
        assert check_nir(p.nir) is None, p.nir
        assert p.nir[0] == ("2" if p.sex is Sex.FEMALE else "1")
        assert p.nir[1:3] == f"{p.birth_date.year % 100:02d}"
        assert p.nir[3:5] == f"{p.birth_date.month:02d}"
        assert p.nir[5:10] == p.insee
        assert patient_problems(p, communes, o.requested_at.date()) == []
        assert re.fullmatch(r"06( \d\d){4}", p.phone), p.phone
        assert p.first_name and p.last_name
        assert 1 <= age_on(p.birth_date, o.requested_at.date()) <= 95


def test_sexes_are_balanced_outside_breast_and_prostate(orders: list[GeneratedOrder]) -> None:
    general = [o for o in orders if o.exam.startswith(("rx-", "tdm-"))]
    women = sum(o.patient.sex is Sex.FEMALE for o in general) / len(general)
    assert 0.47 < women < 0.53
    assert all(o.patient.sex is Sex.MALE for o in orders if o.exam == "echo-vesico-prostatique")


def test_patients_live_in_the_departments_of_the_sites(orders: list[GeneratedOrder],
                                                       communes: dict[str, Commune]) -> None:  # fmt: skip
    assert {communes[o.patient.insee].department for o in orders} == {"12"}
    assert len({o.patient.nir for o in orders}) > 0.99 * len(orders)  # a new patient per order


def test_communes_follow_population(orders: list[GeneratedOrder], communes: dict[str, Commune]) -> None:
    counts = Counter(o.patient.insee for o in orders)
    assert counts.most_common(1)[0][0] == "12202"  # Rodez
    aveyron_population = sum(c.population for c in communes.values() if c.department == "12")
    expected = communes["12202"].population / aveyron_population
    assert expected == pytest.approx(0.085, abs=0.01)  # about 24,000 of 280,000
    assert counts["12202"] / len(orders) == pytest.approx(expected, abs=0.012)
    millau = communes["12145"].population / aveyron_population  # second town
    assert counts["12145"] / len(orders) == pytest.approx(millau, abs=0.01)
    assert len(counts) > 200  # small communes are drawn too


def test_screening_is_for_women_50_to_74(orders: list[GeneratedOrder]) -> None:
    screening = [o for o in orders if o.exam == "mammo-depistage"]
    assert len(screening) > 500
    assert {o.priority for o in screening} == {P.SCREENING}
    assert {o.exam for o in orders if o.priority is P.SCREENING} == {"mammo-depistage"}
    for o in screening:
        assert o.patient.sex is Sex.FEMALE
        assert 50 <= age_on(o.patient.birth_date, o.requested_at.date()) <= 74
    ages = Counter(age_on(o.patient.birth_date, o.requested_at.date()) for o in screening)
    assert min(ages) == 50 and max(ages) == 74
    other_mg = [o for o in orders if o.exam in ("mammo-diagnostique", "mammo-unilaterale")]
    assert len(other_mg) > 200
    assert sum(o.patient.sex is Sex.FEMALE for o in other_mg) / len(other_mg) == pytest.approx(0.95, abs=0.04)


def test_weekly_capacity_from_opening_hours(aveyron: Territory) -> None:
    # by hand from aveyron-pimm.toml
    # MR: 5 × 13 h + 5 h; CT: 5 × 11 h + 4 h; DX: Decazeville 5 × 9 h + 3.5 h, Espalion 3 × 7.5 + 4 + 7 h;
    # US: Rodez 5 × 8 h, Decazeville 4 × 6.5 + 3.5 h; MG: 4 × 7.5 + 4 + 3.5 h
    capacity = {m: d.capacity_min_per_week for m, d in modality_demand(aveyron).items()}
    assert capacity == {"MR": 4200, "CT": 3540, "DX": 4920, "US": 4170, "MG": 2250}


def test_demanded_minutes_fill_the_load_factor(orders: list[GeneratedOrder], aveyron: Territory) -> None:
    hours = {"MR": 70.0, "CT": 59.0, "DX": 82.0, "US": 69.5, "MG": 37.5}
    duration = {e.code: e.duration_min for e in aveyron.exams}
    modality = _exam_modality(aveyron)
    minutes: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for o in orders:
        m = modality[o.exam]
        assert m is not None
        minutes[m] += duration[o.exam]
        count[m] += 1
    demand = modality_demand(aveyron)
    for m, h in hours.items():
        assert minutes[m] / WEEKS == pytest.approx(0.95 * h * 60, rel=0.1), m
        assert count[m] / DAYS == pytest.approx(demand[Modality(m)].orders_per_day, rel=0.1), m


def test_mini_rates_by_hand(mini: Territory, communes: dict[str, Commune]) -> None:
    got = generate_demand(mini, communes, START, 182, seed=3)  # 26 weeks
    per_exam = Counter(o.exam for o in got)
    # IRM-GENOU 20 min, MR open mon 11.5 h + tue 12 h = 1410 min: 0.95 × 1410 / 20 = 66.975 a week
    assert per_exam["IRM-GENOU"] / 26 == pytest.approx(66.975, rel=0.08)
    # ECHO-ABDO 20 min, US open mon 8 h: 0.95 × 480 / 20 = 22.8 a week
    assert per_exam["ECHO-ABDO"] / 26 == pytest.approx(22.8, rel=0.12)
    assert set(per_exam) == {"IRM-GENOU", "ECHO-ABDO"}  # the clinic's CT has no hours and no exam
    # the clinic is outside the convention: it never requests
    assert {o.requesting_site for o in got} == {"rodez", "espalion"}


def test_dates_and_times(orders: list[GeneratedOrder], aveyron: Territory) -> None:
    modality = _exam_modality(aveyron)
    urgent_night = 0
    for o in orders:
        day = o.requested_at.date()
        assert o.due_by >= o.not_before >= day
        if o.priority in (P.URGENT, P.INPATIENT):
            assert o.not_before == day
        else:
            assert o.not_before == day + timedelta(days=1)
            assert 8 * 60 <= o.requested_at.hour * 60 + o.requested_at.minute < 18 * 60
        due = (o.due_by - day).days
        expected = {P.URGENT: 0, P.INPATIENT: 2, P.SCREENING: 60}.get(o.priority)
        if expected is None:
            expected = {"MR": 20, "CT": 10, "US": 15, "DX": 7, "MG": 15}[str(modality[o.exam])]
        assert due == max(expected, (o.not_before - day).days), o
        if o.priority is P.URGENT and not 8 <= o.requested_at.hour < 18:
            urgent_night += 1
        assert o.requested_at.tzinfo is None
    urgent = sum(o.priority is P.URGENT for o in orders)
    assert urgent_night / urgent == pytest.approx(14 / 24, abs=0.04)  # uniform over the day


def test_every_exam_is_in_the_catalogue_and_has_a_machine(orders: list[GeneratedOrder], aveyron: Territory) -> None:
    exams = {e.code: e for e in aveyron.exams}

    def has_machine(code: str) -> bool:
        return any(
            eq.modality == exams[code].modality and (not eq.exams or code in eq.exams) and eq.opening_hours
            for eq in aveyron.equipment
        )

    used = {o.exam for o in orders}
    assert used <= set(exams)
    assert all(has_machine(code) for code in used)
    assert len(used) == 37  # every exam of the catalogue is drawn over 13 weeks


def test_requesting_sites_and_requesters(orders: list[GeneratedOrder], aveyron: Territory,
                                         communes: dict[str, Commune]) -> None:  # fmt: skip
    sites = {s.id: communes[s.insee] for s in aveyron.sites}
    assert {o.requesting_site for o in orders} == set(sites)
    nearest = 0
    for o in orders:
        home = communes[o.patient.insee]
        closest = min(sites, key=lambda sid: great_circle_km(home, sites[sid]))
        nearest += o.requesting_site == closest
        assert check_rpps(o.requester) is None
    # 0.8 nearest + 0.2 × one chance in four of drawing the nearest at random
    assert nearest / len(orders) == pytest.approx(0.85, abs=0.02)
    prescribers = {o.requester for o in orders}
    assert 20 <= len(prescribers) <= 60  # a pool per site, reused


def test_priority_mix(orders: list[GeneratedOrder], aveyron: Territory) -> None:
    mix = {
        "CT": {P.URGENT: 0.25, P.INPATIENT: 0.25, P.OUTPATIENT: 0.5},
        "MR": {P.URGENT: 0.05, P.INPATIENT: 0.15, P.OUTPATIENT: 0.8},
        "DX": {P.URGENT: 0.3, P.INPATIENT: 0.2, P.OUTPATIENT: 0.5},
        "US": {P.URGENT: 0.15, P.INPATIENT: 0.2, P.OUTPATIENT: 0.65},
        "MG": {P.SCREENING: 0.7, P.OUTPATIENT: 0.3},
    }
    modality = _exam_modality(aveyron)
    by_modality: dict[str, Counter[Priority]] = {m: Counter() for m in mix}
    for o in orders:
        by_modality[str(modality[o.exam])][o.priority] += 1
    for m, shares in mix.items():
        n = sum(by_modality[m].values())
        assert set(by_modality[m]) == set(shares), m
        for priority, share in shares.items():
            tolerance = 4 * math.sqrt(share * (1 - share) / n) + 0.005
            assert by_modality[m][priority] / n == pytest.approx(share, abs=tolerance), (m, priority)


def test_weekends_are_quiet_except_for_urgent_orders(orders: list[GeneratedOrder]) -> None:
    weekday: Counter[bool] = Counter()
    weekend: Counter[bool] = Counter()
    for o in orders:
        (weekend if o.requested_at.weekday() >= 5 else weekday)[o.priority is P.URGENT] += 1
    weekdays, weekend_days = 65, 26
    assert (weekend[False] / weekend_days) / (weekday[False] / weekdays) == pytest.approx(0.15, abs=0.04)
    assert (weekend[True] / weekend_days) / (weekday[True] / weekdays) == pytest.approx(1.0, abs=0.12)


def test_clinical_information_is_short_french_text(orders: list[GeneratedOrder]) -> None:
    texts = {o.clinical_info for o in orders}
    assert len(texts) > 40
    for text in texts:
        assert 5 < len(text) <= 120
        assert "{" not in text and "}" not in text
    assert any(o.clinical_info.startswith("Douleur du genou") for o in orders if o.exam == "rx-genou")


def test_settings_change_the_demand(aveyron: Territory, communes: dict[str, Commune]) -> None:
    base = generate_demand(aveyron, communes, START, 28, seed=5)
    half = generate_demand(aveyron, communes, START, 28, seed=5, settings=DemandSettings(load_factor=0.475))
    assert len(half) / len(base) == pytest.approx(0.5, abs=0.06)
    mr_urgent = DemandSettings(priority_mix={"MR": {P.URGENT: 1.0}}, due_days={P.URGENT: 1})
    got = generate_demand(aveyron, communes, START, 14, seed=5, settings=mr_urgent)
    mr = [o for o in got if o.exam.startswith("irm-")]
    assert mr and all(o.priority is P.URGENT for o in mr)
    assert all(o.due_by == o.requested_at.date() + timedelta(days=1) for o in got if o.priority is P.URGENT)
    # MG has no entry left: the default mix (no screening) applies, so the screening exam is never drawn
    assert "mammo-depistage" not in {o.exam for o in got}
    assert "mammo-diagnostique" in {o.exam for o in got}
    sites = {s.id: communes[s.insee] for s in aveyron.sites}
    nearest_only = generate_demand(aveyron, communes, START, 7, seed=5, settings=DemandSettings(nearest_site_share=1))
    for o in nearest_only:
        home = communes[o.patient.insee]
        assert o.requesting_site == min(sites, key=lambda sid: great_circle_km(home, sites[sid]))


def test_corsican_commune_gives_a_valid_nir() -> None:
    communes = {"2A004": Commune("2A004", "Ajaccio", "2A", 41.9267, 8.7369, 71000),
                "2A247": Commune("2A247", "Porto-Vecchio", "2A", 41.5911, 9.2795, 12000)}  # fmt: skip
    territory = Territory(
        id="corse",
        name="Test Corse",
        establishments=(Establishment("2A0000001", "CH test", "CH"),),
        sites=(Site("ajaccio", "2A0000001", "CH d'Ajaccio", "2A004"),),
        equipment=(
            Equipment(
                "echo", "ajaccio", "Échographe", modality=Modality.US, ae_title="AJA_US1",
                opening_hours={"mon": (TimeRange(480, 1080),)},
            ),
        ),
        exams=(Exam("echo-abdo", "Échographie abdominale", 20, modality=Modality.US),),
    )
    got = generate_demand(territory, communes, START, 14, seed=9)
    assert got
    for o in got:
        assert o.patient.nir[5:7] == "2A"
        assert check_nir(o.patient.nir) is None
        assert o.requesting_site == "ajaccio"


def test_poisson_mean_and_variance() -> None:
    rng = random.Random(11)
    for lam, n in ((4.0, 20000), (75.0, 4000)):
        draws = [poisson(rng, lam) for _ in range(n)]
        mean = sum(draws) / n
        variance = sum((x - mean) ** 2 for x in draws) / (n - 1)
        assert mean == pytest.approx(lam, rel=0.03)
        assert variance == pytest.approx(lam, rel=0.1)
    assert poisson(rng, 0.0) == 0


def test_two_weeks_of_aveyron_is_fast(aveyron: Territory, communes: dict[str, Commune]) -> None:
    t0 = time.perf_counter()
    generate_demand(aveyron, communes, START, 14, seed=1)
    assert time.perf_counter() - t0 < 1.0
