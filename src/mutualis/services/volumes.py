"""The federation's yearly digestive oncological surgery per site, against the minimum volumes
of the arrêté of 26 April 2022 (in force from 1 June 2023): 30 resections a year per authorised
site, and 5 for each complex site (oesophagus, liver, stomach, pancreas, rectum).

**What counts.** A surgical case with ``cancer = true`` whose active theatre booking starts in
the year, on a theatre of the site: *performed* when the case is ``done``, *planned* when it is
``booked`` for today or later (a case still ``booked`` on a past day was not recorded as done:
it is shown as *unrecorded* and counted nowhere else). Only resections count
(:func:`is_resection`); each resection counts in the total, and in one complex site when its
procedure belongs to one (:data:`COMPLEX_SITE_OF`, then :data:`COMPLEX_SITE_PATTERNS`).

**Projection to year end** (:func:`project`), for the year of ``as_of``:

    projected = performed + planned + performed / elapsed × beyond

- ``elapsed``: days from 1 January to ``as_of`` included;
- ``planned``: cases booked from ``as_of`` to 31 December;
- ``beyond``: days after the *booking horizon* — the latest day with a booked cancer case in the
  territory that year (``as_of`` when none) — up to 31 December.

So the days already programmed count what is booked on them, and only the days nobody has
programmed yet are filled at the pace observed so far. (Adding the booked cases on top of the
plain run-rate extrapolation ``performed × days in year ÷ elapsed`` would count the booked part
of the year twice.) For a past year the projection is what was performed; for a year not begun
it is what is already booked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.territory import EquipmentKind
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork

TOTAL = "total"
COMPLEX_SITES = ("oesophagus", "liver", "stomach", "pancreas", "rectum")
CATEGORIES = (TOTAL, *COMPLEX_SITES)
# arrêté du 26 avril 2022 (seuils d'activité minimale, chirurgie oncologique digestive)
THRESHOLDS = {TOTAL: 30, "oesophagus": 5, "liver": 5, "stomach": 5, "pancreas": 5, "rectum": 5}
READERS = (Role.COORDINATOR, Role.ADMIN, Role.FEDERATION_SURGEON)

# The Vienne catalogue's theatre procedures (territories/vienne-fmih.toml), one by one:
#   proctectomie-coelio (total mesorectal excision)                    → rectum
#   gastrectomie-partielle, gastrectomie-totale                        → stomach
#   hepatectomie-gauche-elargie, segmentectomie-hepatique              → liver
#   duodenopancreatectomie (Whipple)                                   → pancreas
#   oesophagectomie (Lewis-Santy)                                      → oesophagus
#   colectomie-droite-coelio, colectomie-gauche, hartmann              → total only (colon)
#   appendicectomie-coelio, cholecystectomie-coelio                    → total only, when a cancer
#   hernie-inguinale-prothese, cure-eventration                        → not resections: never counted
COMPLEX_SITE_OF: dict[str, str | None] = {
    "proctectomie-coelio": "rectum",
    "gastrectomie-partielle": "stomach",
    "gastrectomie-totale": "stomach",
    "hepatectomie-gauche-elargie": "liver",
    "segmentectomie-hepatique": "liver",
    "duodenopancreatectomie": "pancreas",
    "oesophagectomie": "oesophagus",
    "colectomie-droite-coelio": None,
    "colectomie-gauche": None,
    "hartmann": None,
    "appendicectomie-coelio": None,
    "cholecystectomie-coelio": None,
}
NOT_RESECTIONS = frozenset({"hernie-inguinale-prothese", "cure-eventration"})
# other territories' codes: the first pattern found in the code decides (order matters:
# "oesogastrectomie" is oesophagus, "duodenopancreatectomie" pancreas)
COMPLEX_SITE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("oesophag", "oesophagus"), ("oesogastr", "oesophagus"),
    ("pancreat", "pancreas"),
    ("hepatectomie", "liver"), ("hepatique", "liver"), ("foie", "liver"),
    ("gastrectomie", "stomach"),
    ("proctectomie", "rectum"), ("rectum", "rectum"), ("rectal", "rectum"),
)  # fmt: skip
RESECTION_WORDS = ("ectomie", "exerese", "resection", "hartmann", "amputation")


def complex_site(procedure: str) -> str | None:
    """The complex site a procedure (catalogue code) belongs to, if any."""
    if procedure in COMPLEX_SITE_OF:
        return COMPLEX_SITE_OF[procedure]
    code = procedure.lower()
    return next((site for pattern, site in COMPLEX_SITE_PATTERNS if pattern in code), None)


def is_resection(procedure: str) -> bool:
    """Whether a cancer case with this procedure counts as an oncological resection."""
    if procedure in NOT_RESECTIONS:
        return False
    if procedure in COMPLEX_SITE_OF or complex_site(procedure) is not None:
        return True
    return any(w in procedure.lower() for w in RESECTION_WORDS)


@dataclass(frozen=True)
class Volume:
    category: str  # total | oesophagus | liver | stomach | pancreas | rectum
    threshold: int
    performed: int
    planned: int
    unrecorded: int
    projected: float

    @property
    def meets(self) -> bool:
        """The projection reaches the threshold."""
        return self.projected >= self.threshold


@dataclass(frozen=True)
class SiteVolumes:
    site: str
    name: str
    volumes: tuple[Volume, ...]  # in CATEGORIES order


@dataclass(frozen=True)
class VolumeReport:
    territory: str
    year: int
    as_of: date
    elapsed: int  # days of the year up to as_of included
    days_in_year: int
    horizon: date  # the last day already programmed (see the module's docstring)
    sites: tuple[SiteVolumes, ...]


def project(performed: int, planned: int, *, elapsed: int, beyond: int) -> float:
    """Performed, plus what is booked, plus the observed pace over the days not yet programmed."""
    pace = performed / elapsed if elapsed > 0 else 0.0
    return round(performed + planned + pace * max(beyond, 0), 1)



def report(uow: UnitOfWork, user: User, territory_id: str, year: int | None = None, *, now: datetime) -> VolumeReport:
    """The year's volumes per site with a theatre (``year``: the current one by default)."""
    with uow:
        t = _territory(uow, territory_id)
        if not (user.role is Role.ADMIN and user.territory in (None, t.id)) and user.territory != t.id:
            raise NotFound("territory", t.id)
        if user.role not in READERS:
            raise PermissionDenied("the volumes are for coordinators and the federation's surgeons")
        tz = ZoneInfo(t.timezone)
        today = now.astimezone(tz).date()
        year = today.year if year is None else year
        if not 2000 <= year <= 2100:
            raise ValidationError(Problem("year", f"must be between 2000 and 2100 (got {year})"))
        first, last = date(year, 1, 1), date(year, 12, 31)
        rows = uow.protocols.cancer_theatre_activity(
            t.id, datetime.combine(first, time(), tz).astimezone(UTC),
            datetime.combine(date(year + 1, 1, 1), time(), tz).astimezone(UTC))  # fmt: skip
    days_in_year = (last - first).days + 1
    elapsed = min(max((today - first).days + 1, 0), days_in_year)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    horizon = max(today, first)
    for r in rows:
        day = r["start_at"].astimezone(tz).date()
        if not is_resection(r["procedure"]):
            continue
        if r["status"] == "done":
            kind = "performed"
        elif day >= today:
            kind = "planned"
            horizon = max(horizon, day)
        else:
            kind = "unrecorded"
        site = complex_site(r["procedure"])
        for category in (TOTAL, site) if site else (TOTAL,):
            counts[r["site"], category, kind] += 1
    beyond = (last - horizon).days if horizon <= last else 0
    theatre_sites = {e.site for e in t.equipment if e.kind is EquipmentKind.THEATRE} | {r["site"] for r in rows}
    sites = []
    for s in t.sites:
        if s.id not in theatre_sites:
            continue
        volumes = []
        for category in CATEGORIES:
            done, planned = counts[s.id, category, "performed"], counts[s.id, category, "planned"]
            volumes.append(Volume(category, THRESHOLDS[category], done, planned, counts[s.id, category, "unrecorded"],
                                  project(done, planned, elapsed=elapsed, beyond=beyond)))  # fmt: skip
        sites.append(SiteVolumes(s.id, s.name, tuple(volumes)))
    return VolumeReport(t.id, year, today, elapsed, days_in_year, horizon if horizon <= last else last, tuple(sites))
