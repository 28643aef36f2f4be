"""The territory of a pooled platform: establishments, sites, equipment, practitioners,
conventions and the exam catalogue. Plain values; :func:`territory_problems` holds the rules
that need the whole territory (references between sections, identifier keys, hours).

Locations in problems are key paths in the territory's own field names
(``equipment[2].opening_hours.mon[1]``), so a file, the JSON API and the CLI name them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

from mutualis.domain.errors import Problem
from mutualis.domain.identifiers import check_ccam, check_finess, check_insee, check_rpps
from mutualis.domain.reading_settings import EXAM_READING_MINUTES, ReadingSettings


class Modality(StrEnum):
    """DICOM modality codes (PS3.3 C.7.3.1.1.1) a pooled platform schedules."""

    MR = "MR"
    CT = "CT"
    CR = "CR"
    DX = "DX"
    US = "US"
    MG = "MG"
    XA = "XA"
    RF = "RF"
    NM = "NM"
    PT = "PT"
    ES = "ES"  # endoscopy


class EquipmentKind(StrEnum):
    IMAGING = "imaging"
    THEATRE = "theatre"
    ENDOSCOPY = "endoscopy"


class ConventionKind(StrEnum):
    PIMM = "PIMM"  # plateau d'imagerie médicale mutualisé, CSP L6122-15
    FMIH = "FMIH"  # fédération médicale interhospitalière, CSP L6135-1


class Profession(StrEnum):
    RADIOLOGIST = "radiologist"
    RADIOGRAPHER = "radiographer"  # manipulateur en électroradiologie médicale (MERM)
    SURGEON = "surgeon"
    ANAESTHETIST = "anaesthetist"
    GASTROENTEROLOGIST = "gastroenterologist"
    ONCOLOGIST = "oncologist"
    NURSE = "nurse"
    PHYSICIAN = "physician"


class Platform(StrEnum):
    """What a privilege opens on a site."""

    IMAGING = "imaging"
    THEATRE = "theatre"
    ENDOSCOPY = "endoscopy"
    CONSULTATION = "consultation"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, order=True)
class TimeRange:
    """Minutes since local midnight, ``start`` < ``end`` ≤ 1440."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


@dataclass(frozen=True)
class Closure:
    start: datetime
    end: datetime  # exclusive
    reason: str = ""


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    department: str
    lat: float
    lon: float
    population: int


@dataclass(frozen=True)
class Establishment:
    finess: str
    name: str
    kind: str  # CH, CHU, clinic, …


@dataclass(frozen=True)
class Site:
    id: str
    establishment: str  # FINESS
    name: str
    insee: str
    pacs_url: str | None = None  # the site's PACS, DICOMweb base URL (QIDO-RS, STOW-RS)


@dataclass(frozen=True)
class Equipment:
    id: str
    site: str
    name: str
    kind: EquipmentKind = EquipmentKind.IMAGING
    modality: Modality | None = None
    ae_title: str | None = None
    station_name: str | None = None
    opening_hours: Mapping[str, tuple[TimeRange, ...]] = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()
    exams: tuple[str, ...] = ()  # catalogue codes it is restricted to; empty = all of its modality


@dataclass(frozen=True)
class Practitioner:
    rpps: str
    last_name: str
    first_name: str
    profession: Profession
    establishment: str  # home establishment FINESS
    qualifications: tuple[str, ...] = ()
    subspecialties: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Privilege:
    """A practitioner may act on these sites' platforms under the convention."""

    rpps: str
    sites: tuple[str, ...]
    platforms: tuple[Platform, ...]
    start: date | None = None
    end: date | None = None

    def in_force(self, on: date) -> bool:
        return (self.start is None or self.start <= on) and (self.end is None or on <= self.end)


@dataclass(frozen=True)
class Convention:
    id: str
    kind: ConventionKind
    name: str
    members: tuple[str, ...]  # FINESS
    start: date
    end: date
    coordinator: str | None = None  # RPPS of the coordinating practitioner
    remote_reading: tuple[Modality, ...] = ()
    contribution_keys: Mapping[str, float] = field(default_factory=dict)  # FINESS → share
    privileges: tuple[Privilege, ...] = ()

    def in_force(self, on: date) -> bool:
        return self.start <= on <= self.end


@dataclass(frozen=True)
class Exam:
    code: str
    label: str
    duration_min: int
    kind: EquipmentKind = EquipmentKind.IMAGING
    modality: Modality | None = None
    ccam: str | None = None
    radiologist_on_site: bool = False
    preparation: str = ""
    # the report's prefilled sections for this exam (REPORT_SECTIONS keys), from the catalogue
    report_template: tuple[tuple[str, str], ...] = ()


REPORT_SECTIONS = ("indication", "technique", "findings", "conclusion")


@dataclass(frozen=True)
class TravelSettings:
    """Defaults of the travel-time estimate (see engines/travel.py)."""

    detour_factor: float = 1.3
    road_speed_kmh: float = 60.0


DEFAULT_WAIT_PER_DAY: Mapping[str, float] = {"urgent": 200.0, "inpatient": 50.0, "outpatient": 10.0, "screening": 2.0}


@dataclass(frozen=True)
class BookingSettings:
    """Weights of the slot ranking (lower score is better) and search bounds.

    score = wait_per_day[priority] × days waited + travel_per_minute × travel minutes
            + late_per_day × days after the due date.
    Defaults (assumptions, to tune per territory): for an outpatient one day of wait weighs as
    much as 10 minutes of driving; for an urgent exam, as 200 minutes, so urgent exams go to
    the soonest machine and screening ones to the nearest.
    """

    wait_per_day: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WAIT_PER_DAY))
    travel_per_minute: float = 1.0
    late_per_day: float = 100.0
    horizon_days: int = 60
    slot_step_min: int = 5


@dataclass(frozen=True)
class Territory:
    id: str
    name: str
    timezone: str = "Europe/Paris"
    travel: TravelSettings = TravelSettings()
    booking: BookingSettings = field(default_factory=BookingSettings)
    reading: ReadingSettings = field(default_factory=ReadingSettings)
    establishments: tuple[Establishment, ...] = ()
    sites: tuple[Site, ...] = ()
    equipment: tuple[Equipment, ...] = ()
    practitioners: tuple[Practitioner, ...] = ()
    conventions: tuple[Convention, ...] = ()
    exams: tuple[Exam, ...] = ()

    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.id == site_id)

    def establishment_of(self, site_id: str) -> str:
        return self.site(site_id).establishment

    def conventions_in_force(self, on: date) -> tuple[Convention, ...]:
        return tuple(c for c in self.conventions if c.in_force(on))


def _duplicates(problems: list[Problem], section: str, key: str, values: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in seen:
            problems.append(Problem(f"{section}[{i}].{key}", f"duplicate {key} {v!r} (also {section}[{seen[v]}])"))
        else:
            seen[v] = i


def _hours_problems(where: str, hours: Mapping[str, tuple[TimeRange, ...]]) -> list[Problem]:
    problems: list[Problem] = []
    for day, ranges in hours.items():
        if day not in WEEKDAYS:
            problems.append(Problem(f"{where}.{day}", f"unknown weekday (use {', '.join(WEEKDAYS)})"))
            continue
        for i, r in enumerate(ranges):
            if not 0 <= r.start < 1440 or not 0 < r.end <= 1440 or r.end <= r.start:
                problems.append(Problem(f"{where}.{day}[{i}]", f"inverted or empty hours {r}"))
        ordered = sorted(enumerate(ranges), key=lambda ir: ir[1])
        for (_, a), (j, b) in pairwise(ordered):
            if b.start < a.end:
                problems.append(Problem(f"{where}.{day}[{j}]", f"hours {b} overlap {a}"))
    return problems


def territory_problems(t: Territory, communes: Mapping[str, Commune]) -> list[Problem]:
    """Every rule a territory breaks, each with its key path; empty when it is sound."""
    p: list[Problem] = []
    finess = {e.finess for e in t.establishments}
    site_ids = {s.id for s in t.sites}
    rpps = {pr.rpps for pr in t.practitioners}
    exams = {e.code: e for e in t.exams}

    _duplicates(p, "establishments", "finess", [e.finess for e in t.establishments])
    _duplicates(p, "sites", "id", [s.id for s in t.sites])
    _duplicates(p, "equipment", "id", [e.id for e in t.equipment])
    _duplicates(p, "equipment", "ae_title", [e.ae_title for e in t.equipment if e.ae_title])
    _duplicates(p, "practitioners", "rpps", [x.rpps for x in t.practitioners])
    _duplicates(p, "conventions", "id", [c.id for c in t.conventions])
    _duplicates(p, "exams", "code", [e.code for e in t.exams])

    for i, e in enumerate(t.establishments):
        if reason := check_finess(e.finess):
            p.append(Problem(f"establishments[{i}].finess", f"{e.finess!r}: {reason}"))
    for i, s in enumerate(t.sites):
        if s.establishment not in finess:
            p.append(Problem(f"sites[{i}].establishment", f"unknown establishment {s.establishment!r}"))
        if reason := check_insee(s.insee):
            p.append(Problem(f"sites[{i}].insee", f"{s.insee!r}: {reason}"))
        elif s.insee not in communes:
            p.append(Problem(f"sites[{i}].insee", f"unknown INSEE commune code {s.insee!r}"))
        if s.pacs_url is not None and not s.pacs_url.startswith(("http://", "https://")):
            p.append(Problem(f"sites[{i}].pacs_url", "a DICOMweb base URL starts with http:// or https://"))
    for i, eq in enumerate(t.equipment):
        where = f"equipment[{i}]"
        if eq.site not in site_ids:
            p.append(Problem(f"{where}.site", f"unknown site {eq.site!r}"))
        if eq.kind is EquipmentKind.IMAGING:
            if eq.modality is None:
                p.append(Problem(f"{where}.modality", "imaging equipment needs a DICOM modality"))
            if not eq.ae_title:
                p.append(Problem(f"{where}.ae_title", "imaging equipment needs an AE title"))
        if eq.ae_title is not None and not (
            0 < len(eq.ae_title) <= 16 and eq.ae_title.isascii() and "\\" not in eq.ae_title and eq.ae_title.strip()
        ):
            p.append(Problem(f"{where}.ae_title", "an AE title is 1 to 16 ASCII characters, no backslash"))
        p.extend(_hours_problems(f"{where}.opening_hours", eq.opening_hours))
        for j, cl in enumerate(eq.closures):
            if cl.end <= cl.start:
                p.append(Problem(f"{where}.closures[{j}]", f"closure ends ({cl.end}) before it starts ({cl.start})"))
        for j, code in enumerate(eq.exams):
            exam = exams.get(code)
            if exam is None:
                p.append(Problem(f"{where}.exams[{j}]", f"unknown exam {code!r}"))
            elif exam.modality != eq.modality or exam.kind != eq.kind:
                p.append(
                    Problem(
                        f"{where}.exams[{j}]",
                        f"exam {code!r} ({exam.modality or exam.kind}) does not fit this equipment",
                    )
                )
    for i, pr in enumerate(t.practitioners):
        if reason := check_rpps(pr.rpps):
            p.append(Problem(f"practitioners[{i}].rpps", f"{pr.rpps!r}: {reason}"))
        if pr.establishment not in finess:
            p.append(Problem(f"practitioners[{i}].establishment", f"unknown establishment {pr.establishment!r}"))
    for i, c in enumerate(t.conventions):
        where = f"conventions[{i}]"
        if c.end < c.start:
            p.append(Problem(f"{where}.end", f"convention ends ({c.end}) before it starts ({c.start})"))
        for j, m in enumerate(c.members):
            if m not in finess:
                p.append(Problem(f"{where}.members[{j}]", f"unknown establishment {m!r}"))
        if c.coordinator is not None and c.coordinator not in rpps:
            p.append(Problem(f"{where}.coordinator", f"unknown practitioner {c.coordinator!r}"))
        for key in c.contribution_keys:
            if key not in c.members:
                p.append(Problem(f"{where}.contribution_keys.{key}", "not a member of the convention"))
        if c.contribution_keys and abs(sum(c.contribution_keys.values()) - 1.0) > 1e-6:
            p.append(
                Problem(f"{where}.contribution_keys", f"shares add up to {sum(c.contribution_keys.values()):g}, not 1")
            )
        member_sites = {s.id for s in t.sites if s.establishment in c.members}
        for j, pv in enumerate(c.privileges):
            if pv.rpps not in rpps:
                p.append(Problem(f"{where}.privileges[{j}].rpps", f"unknown practitioner {pv.rpps!r}"))
            for k, sid in enumerate(pv.sites):
                if sid not in site_ids:
                    p.append(Problem(f"{where}.privileges[{j}].sites[{k}]", f"unknown site {sid!r}"))
                elif sid not in member_sites:
                    p.append(
                        Problem(
                            f"{where}.privileges[{j}].sites[{k}]",
                            f"site {sid!r} is not on a member establishment's platform",
                        )
                    )
            if pv.start and pv.end and pv.end < pv.start:
                p.append(Problem(f"{where}.privileges[{j}].end", "privilege ends before it starts"))
    for i, ex in enumerate(t.exams):
        if ex.kind is EquipmentKind.IMAGING and ex.modality is None:
            p.append(Problem(f"exams[{i}].modality", "an imaging exam needs a DICOM modality"))
        if ex.ccam is not None and (reason := check_ccam(ex.ccam)):
            p.append(Problem(f"exams[{i}].ccam", f"{ex.ccam!r}: {reason}"))
        if not 0 < ex.duration_min <= 24 * 60:
            p.append(Problem(f"exams[{i}].duration_min", "duration must be between 1 and 1440 minutes"))
    known = {m.value for m in Modality} | set(exams) | set(EXAM_READING_MINUTES)
    p += [Problem(f"territory.reading.reading_minutes.{key}", "neither a modality nor an exam code of the catalogue")
          for key in t.reading.reading_minutes if key not in known]
    return p


def restricted_to(t: Territory, site_ids: frozenset[str]) -> Territory:
    """What of ``t`` a person who may act on ``site_ids`` sees: those sites, their equipment and
    establishments, the practitioners based there or privileged there, the conventions that
    bind those establishments (privileges limited to those sites), and the whole catalogue."""
    sites = tuple(s for s in t.sites if s.id in site_ids)
    finess = {s.establishment for s in sites}
    conventions = tuple(
        replace(
            c,
            privileges=tuple(
                replace(p, sites=tuple(s for s in p.sites if s in site_ids))
                for p in c.privileges
                if set(p.sites) & site_ids
            ),
        )
        for c in t.conventions
        if finess & set(c.members)
    )
    privileged = {p.rpps for c in conventions for p in c.privileges}
    return replace(
        t,
        establishments=tuple(e for e in t.establishments if e.finess in finess),
        sites=sites,
        equipment=tuple(e for e in t.equipment if e.site in site_ids),
        practitioners=tuple(p for p in t.practitioners if p.establishment in finess or p.rpps in privileged),
        conventions=conventions,
    )
