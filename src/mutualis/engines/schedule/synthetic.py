"""Synthetic territories on the real communes, for the optimiser's benchmark: a 12-site
hospital group (GHT) and a 40-site region. Pure: the communes and the exam catalogue are
parameters (the benchmark passes the shipped communes and the Aveyron catalogue).

Sites are the most populous communes of the departments, each at least ``min_km`` from the
sites already chosen (no two hospitals in one town). Each site is its own establishment, all
members of one PIMM convention. Equipment by tier (assumptions, in the spirit of French
public hospitals):

- reference hospital (the largest town(s)): MR ×2, CT ×2, DX ×2, US ×2, MG ×1; MR 07:30–20:30,
  CT 08:00–19:00 on weekdays and Saturday mornings, the others 08:00–12:30 and 13:30–18:00;
- general hospital (the next quarter): MR, CT, DX, US, and a mammograph every other one;
  MR and CT 08:00–19:00 and Saturday mornings, the others 08:30–12:30 and 13:30–17:30;
- local hospital (the rest): one radiography room open weekday mornings 08:30–12:30, and an
  ultrasound unit at every other one on Tuesdays and Thursdays 08:30–12:30 and 13:30–17:00.

Staff: radiographers one more than the site's machines (two at least), radiologists one per
ultrasound unit plus one at reference and general hospitals; engines/presence.py places them.
Each machine has one day of maintenance closure, drawn with the seed in the first four weeks.
People are fictional: RPPS and FINESS numbers are random digits with valid keys.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from mutualis.domain.identifiers import luhn_key
from mutualis.domain.territory import (
    Closure,
    Commune,
    Convention,
    ConventionKind,
    Equipment,
    EquipmentKind,
    Establishment,
    Exam,
    Modality,
    Practitioner,
    Profession,
    Site,
    Territory,
    TimeRange,
    TravelSettings,
)
from mutualis.engines.travel import great_circle_km

WEEK = ("mon", "tue", "wed", "thu", "fri")
GHT_DEPARTMENTS = ("12", "81")  # Aveyron and Tarn
REGION_DEPARTMENTS = ("12", "15", "30", "34", "46", "48", "81", "82")  # the southern block of the communes data


def _hours(ranges: Sequence[str], days: Sequence[str] = WEEK, saturday: Sequence[str] = ()) -> dict[
        str, tuple[TimeRange, ...]]:  # fmt: skip
    def parse(text: str) -> TimeRange:
        a, b = text.split("-")
        return TimeRange(int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:]))

    out = {d: tuple(parse(r) for r in ranges) for d in days}
    if saturday:
        out["sat"] = tuple(parse(r) for r in saturday)
    return out


SPLIT = ("08:30-12:30", "13:30-17:30")
TIERS: Mapping[str, tuple[tuple[Modality, int, dict[str, tuple[TimeRange, ...]]], ...]] = {
    "reference": (
        (Modality.MR, 2, _hours(["07:30-20:30"], saturday=["08:00-13:00"])),
        (Modality.CT, 2, _hours(["08:00-19:00"], saturday=["08:30-12:30"])),
        (Modality.DX, 2, _hours(["08:00-12:30", "13:30-18:00"], saturday=["08:30-12:00"])),
        (Modality.US, 2, _hours(["08:00-12:30", "13:30-18:00"])),
        (Modality.MG, 1, _hours(["08:30-12:30", "13:30-17:00"])),
    ),
    "general": (
        (Modality.MR, 1, _hours(["08:00-19:00"], saturday=["08:30-12:30"])),
        (Modality.CT, 1, _hours(["08:00-19:00"], saturday=["08:30-12:30"])),
        (Modality.DX, 1, _hours(SPLIT)),
        (Modality.US, 1, _hours(SPLIT)),
        (Modality.MG, 1, _hours(SPLIT)),
    ),
    "local": (
        (Modality.DX, 1, _hours(["08:30-12:30"])),
        (Modality.US, 1, _hours(["08:30-12:30", "13:30-17:00"], days=("tue", "thu"))),
    ),
}


def pick_sites(communes: Mapping[str, Commune], departments: Sequence[str], count: int,
               min_km: float) -> list[Commune]:  # fmt: skip
    ranked = sorted((c for c in communes.values() if c.department in departments),
                    key=lambda c: (-c.population, c.insee))
    chosen: list[Commune] = []
    for c in ranked:
        if all(great_circle_km(c, other) >= min_km for other in chosen):
            chosen.append(c)
            if len(chosen) == count:
                return chosen
    raise ValueError(f"only {len(chosen)} communes {min_km} km apart in {departments}")


def _number(rng: random.Random, prefix: str, digits: int) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(digits - len(prefix) - 1))
    return body + luhn_key(body)


def synthetic_territory(
    communes: Mapping[str, Commune],
    exams: Sequence[Exam],
    *,
    id: str,
    name: str,
    departments: Sequence[str],
    sites: int,
    reference: int,
    general: int,
    min_km: float,
    seed: int,
    start: date,
) -> Territory:
    """A territory of ``sites`` hospitals: ``reference`` reference ones, ``general`` general
    ones, the rest local; closures drawn in the four weeks from ``start``."""
    rng = random.Random(seed)
    towns = pick_sites(communes, departments, sites, min_km)
    establishments, site_list, equipment, people = [], [], [], []
    local_rank = 0
    for n, town in enumerate(towns):
        tier = "reference" if n < reference else "general" if n < reference + general else "local"
        finess = _number(rng, town.department, 9)
        sid = f"s{n + 1:02d}-{town.insee}"
        establishments.append(Establishment(finess, f"CH de {town.name}", "CH"))
        site_list.append(Site(sid, finess, f"Hôpital de {town.name}", town.insee))
        machines = []
        for modality, count, hours in TIERS[tier]:
            if tier == "general" and modality is Modality.MG and (n - reference) % 2:
                continue
            if tier == "local" and modality is Modality.US and local_rank % 2:
                continue
            for j in range(count):
                day = start + timedelta(days=rng.randrange(28))
                closure = Closure(datetime.combine(day, datetime.min.time()),
                                  datetime.combine(day + timedelta(days=1), datetime.min.time()), "Maintenance")
                machines.append(Equipment(
                    f"{sid}-{modality.value.lower()}{j + 1}", sid, f"{modality.value} {j + 1} — {town.name}",
                    EquipmentKind.IMAGING, modality, f"S{n + 1:02d}{modality.value}{j + 1}", None, hours, (closure,)))
        local_rank += tier == "local"
        equipment += machines
        ultrasound = sum(1 for m in machines if m.modality is Modality.US)
        for profession, count in ((Profession.RADIOGRAPHER, max(2, len(machines) + 1)),
                                  (Profession.RADIOLOGIST, ultrasound + (tier != "local"))):
            for j in range(count):
                people.append(Practitioner(_number(rng, "1", 11), f"{profession.value[:5].title()}{n + 1}-{j + 1}",
                                           "Fictif", profession, finess))
    convention = Convention(f"{id}-pimm", ConventionKind.PIMM, f"Plateau mutualisé — {name}",
                            tuple(e.finess for e in establishments), start - timedelta(days=365),
                            start + timedelta(days=6 * 365),
                            contribution_keys={e.finess: 1 / len(establishments) for e in establishments})
    return Territory(id, name, travel=TravelSettings(1.3, 60.0), establishments=tuple(establishments),
                     sites=tuple(site_list), equipment=tuple(equipment), practitioners=tuple(people),
                     conventions=(convention,), exams=tuple(exams))  # fmt: skip


def ght(communes: Mapping[str, Commune], exams: Sequence[Exam], start: date, seed: int = 1) -> Territory:
    """12 sites in Aveyron and Tarn: 1 reference, 3 general, 8 local hospitals."""
    return synthetic_territory(communes, exams, id="ght-synthetic", name="GHT synthétique (Aveyron–Tarn)",
                               departments=GHT_DEPARTMENTS, sites=12, reference=1, general=3, min_km=10,
                               seed=seed, start=start)  # fmt: skip


def region(communes: Mapping[str, Commune], exams: Sequence[Exam], start: date, seed: int = 1) -> Territory:
    """40 sites over eight departments: 2 reference, 8 general, 30 local hospitals."""
    return synthetic_territory(communes, exams, id="region-synthetic", name="Région synthétique (8 départements)",
                               departments=REGION_DEPARTMENTS, sites=40, reference=2, general=8, min_km=12,
                               seed=seed, start=start)  # fmt: skip
