"""A seeded, realistic waiting list of visceral surgery for a federation's theatres (built for
the Vienne FMIH, works on any territory with theatres and surgeons). Pure: the territory is a
parameter. Every figure below is an assumption (no open data source gives them per case); they
are meant to be plausible, and are the knobs to tune.

**Demand per surgeon.** Each federation surgeon's capacity is the minutes of the sessions the
block schedule gives them (:mod:`.block`) plus an equal share of the open sessions at the sites
where they are privileged. Cases are drawn for each surgeon until their in-room minutes (plus
one turnover each) reach ``load`` × that capacity: ``load`` = 1.15 by default, a bit more
demand than capacity, so that the choice of cases matters.

**Procedure mix** (:data:`PROCEDURES`): the commonest visceral operations. A surgeon draws from
the general ones (appendicectomy, cholecystectomy, inguinal hernia repair), with their
frequency, and from those of their subspecialties (territory ``subspecialties``: colorectal,
digestive oncology, hepato-biliary, pancreatic, oeso-gastric, abdominal wall, proctology,
emergency surgery) at three times their frequency. A draw the surgeon could not do anywhere
(the case's allowed sites and the surgeon's privileges do not meet) is drawn again: such a
case would have gone to a colleague.

**Durations.** A case's expected in-room time (patient in to patient out) is lognormal around
the procedure's median (the catalogue's ``duration_min`` where the territory has it) with the
procedure's between-patient spread σ (0.15 to 0.35), rounded to 5 minutes, at least 15; its
90th percentile, the risk of overrunning, is ``expected × exp(1.2816 × 0.2)`` (≈ +29 %: the
spread that remains once the surgeon has estimated this patient's case).

**Where.** Heavy surgery (proctectomy, gastrectomy, oesophagectomy, hepatectomy,
pancreatectomy) and every cancer case are done at the CHU's sites only (the convention: the CHU
takes heavy surgery and digestive oncology); the others anywhere a theatre takes the
procedure (the territory restricts Montmorillon's rooms to a list). Heavy surgery needs an
intensive care unit behind the theatre (``reanimation``), liver surgery also intra-operative
ultrasound, laparoscopic procedures a laparoscopy column.

**Priority and dates** (per procedure, the share of urgent / cancer / standard cases; a
referral drawn on a Saturday or Sunday is moved to the Friday before, referrals being made at
weekday consultations and tumour boards):

- urgent (semi-urgent, to be operated within 72 hours: acute cholecystitis, appendicitis on the
  scheduled list, occlusion): referred on a day drawn uniformly from two days before the
  horizon to its last day (they keep coming during the week), ready the same day, due 3 days
  after referral;
- cancer: referred (tumour board decision, RCP) from 35 days before the horizon to 7 days
  before its end, ready 7 days after (work-up, immunonutrition, anaesthesia consultation),
  due 28 days after referral (the 'délai' target from the RCP to surgery, an assumption);
- standard: referred from 120 days before the horizon to 7 days before its end, ready 14 days
  after (the anaesthesia consultation must be at least 48 hours before, CSP D6124-92, and the
  programming takes time), due 90 days after referral.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from mutualis.domain.territory import EquipmentKind, Territory
from mutualis.engines.theatre.block import (
    DEFAULT_TRAVEL_MIN,
    federation_surgeons,
    privileges_from_territory,
    sessions_from_territory,
)
from mutualis.engines.theatre.instance import Session, SurgicalCase, TheatreInstance

LAPAROSCOPY = frozenset({"coelioscopie"})
ICU = frozenset({"reanimation"})
LIVER = frozenset({"reanimation", "echographie-peroperatoire"})
GENERAL = (("general", 1.0),)
P90_SIGMA = 0.2


@dataclass(frozen=True)
class Procedure:
    code: str
    label: str
    median_min: int
    sigma: float  # lognormal spread between patients
    frequency: float  # relative, within a surgeon's mix
    specialties: frozenset[str]  # territory subspecialties that do it; empty: every visceral surgeon
    priorities: tuple[float, float, float]  # share urgent, cancer, standard
    anaesthesia: tuple[tuple[str, float], ...] = GENERAL
    equipment: frozenset[str] = frozenset()
    heavy: bool = False  # at the CHU only, whatever the priority


COLORECTAL = frozenset({"chirurgie colorectale", "oncologie digestive"})
HPB = frozenset({"chirurgie hépato-biliaire"})
OESO_GASTRIC = frozenset({"chirurgie œso-gastrique"})

PROCEDURES: tuple[Procedure, ...] = (
    Procedure("appendicectomie-coelio", "Appendicectomie par cœlioscopie", 60, 0.30, 0.6, frozenset(),
              (0.9, 0.0, 0.1), equipment=LAPAROSCOPY),
    Procedure("cholecystectomie-coelio", "Cholécystectomie par cœlioscopie", 75, 0.30, 1.5, HPB,
              (0.2, 0.0, 0.8), equipment=LAPAROSCOPY),
    Procedure("hernie-inguinale-prothese", "Cure de hernie inguinale avec prothèse", 60, 0.25, 1.5,
              frozenset({"paroi"}), (0.05, 0.0, 0.95), (("general", 0.5), ("regional", 0.3), ("local", 0.2))),
    Procedure("cure-eventration", "Cure d'éventration avec prothèse", 120, 0.35, 0.6, frozenset({"paroi"}),
              (0.0, 0.0, 1.0)),
    Procedure("hemorroidectomie", "Hémorroïdectomie pédiculaire", 40, 0.30, 0.8, frozenset({"proctologie"}),
              (0.0, 0.0, 1.0), (("regional", 0.6), ("general", 0.4))),
    Procedure("colectomie-droite-coelio", "Colectomie droite par cœlioscopie", 180, 0.25, 0.8, COLORECTAL,
              (0.05, 0.7, 0.25), equipment=LAPAROSCOPY),
    Procedure("colectomie-gauche", "Colectomie gauche par laparotomie", 210, 0.25, 0.6, COLORECTAL,
              (0.05, 0.5, 0.45)),
    Procedure("hartmann", "Intervention de Hartmann", 180, 0.30, 0.3,
              frozenset({"chirurgie colorectale", "chirurgie d'urgence"}), (0.7, 0.1, 0.2)),
    Procedure("proctectomie-coelio", "Proctectomie avec exérèse totale du mésorectum", 300, 0.20, 0.3, COLORECTAL,
              (0.0, 1.0, 0.0), equipment=LAPAROSCOPY | ICU, heavy=True),
    Procedure("gastrectomie-partielle", "Gastrectomie partielle", 240, 0.20, 0.25,
              OESO_GASTRIC | {"oncologie digestive"}, (0.0, 0.8, 0.2), equipment=ICU, heavy=True),
    Procedure("gastrectomie-totale", "Gastrectomie totale avec curage", 300, 0.20, 0.15, OESO_GASTRIC,
              (0.0, 1.0, 0.0), equipment=ICU, heavy=True),
    Procedure("oesophagectomie", "Œsophagectomie (Lewis-Santy)", 480, 0.15, 0.08, OESO_GASTRIC,
              (0.0, 1.0, 0.0), equipment=ICU, heavy=True),
    Procedure("segmentectomie-hepatique", "Unisegmentectomie hépatique", 210, 0.25, 0.2, HPB,
              (0.0, 0.9, 0.1), equipment=LIVER, heavy=True),
    Procedure("hepatectomie-gauche-elargie", "Hépatectomie gauche élargie", 300, 0.20, 0.1, HPB,
              (0.0, 1.0, 0.0), equipment=LIVER, heavy=True),
    Procedure("duodenopancreatectomie", "Duodénopancréatectomie céphalique", 420, 0.15, 0.15,
              frozenset({"chirurgie pancréatique"}), (0.0, 0.9, 0.1), equipment=ICU, heavy=True),
)  # fmt: skip

SPECIALTY_FACTOR = 3.0
PRIORITY_NAMES = ("urgent", "cancer", "standard")
# per priority: referral window (days from the horizon's start, days before its end), ready, due (days after referral)
REFERRAL_BEFORE = {"urgent": 2, "cancer": 35, "standard": 120}
REFERRAL_END_MARGIN = {"urgent": 1, "cancer": 7, "standard": 7}
READY_AFTER = {"urgent": 0, "cancer": 7, "standard": 14}
DUE_AFTER = {"urgent": 3, "cancer": 28, "standard": 90}


def _sites_for(t: Territory, proc: Procedure, priority: str) -> frozenset[str]:
    """Where a case may be done: a theatre of the site takes the procedure; CHU only when heavy or cancer."""
    sites = {e.site for e in t.equipment if e.kind is EquipmentKind.THEATRE and (not e.exams or proc.code in e.exams)}
    if proc.heavy or priority == "cancer":
        chu = {e.finess for e in t.establishments if e.kind.upper() == "CHU"}
        sites = {s for s in sites if t.establishment_of(s) in chu}
    return frozenset(sites)


def capacity(sessions: Sequence[Session], privileges: Mapping[str, frozenset[str]],
             surgeons: Sequence[str]) -> dict[str, float]:  # fmt: skip
    """Minutes per surgeon: their sessions, and an equal share of the open sessions where they may operate."""
    out: dict[str, float] = dict.fromkeys(surgeons, 0.0)
    for s in sessions:
        if s.is_open:
            here = [r for r in surgeons if s.site in privileges.get(r, frozenset())]
            for r in here:
                out[r] += s.length / len(here)
        else:
            for r in s.surgeons:
                if r in out:
                    out[r] += s.length / len(s.surgeons)
    return out


def _pick(rng: random.Random, items: Sequence[tuple[str, float]]) -> str:
    return rng.choices([x for x, _ in items], weights=[w for _, w in items])[0]


def generate_cases(t: Territory, sessions: Sequence[Session], privileges: Mapping[str, frozenset[str]],
                   start: date, days: int, seed: int, *, load: float = 1.15,
                   turnover_min: int = 20) -> tuple[SurgicalCase, ...]:  # fmt: skip
    """The waiting cases of the horizon (see the module's docstring), in referral order."""
    rng = random.Random(seed)
    end = start + timedelta(days=days)
    surgeons = federation_surgeons(t, privileges)
    subspecialties = {p.rpps: set(p.subspecialties) for p in t.practitioners}
    labels = {e.code: e.label for e in t.exams}
    medians = {e.code: e.duration_min for e in t.exams if e.kind is EquipmentKind.THEATRE}
    cap = capacity(sessions, privileges, surgeons)
    drawn: list[tuple[date, str, SurgicalCase]] = []
    for rpps in surgeons:
        mine = subspecialties.get(rpps, set())
        mix = [(p, p.frequency * (SPECIALTY_FACTOR if p.specialties & mine else 1.0)) for p in PROCEDURES
               if not p.specialties or p.specialties & mine or p.code in ("cholecystectomie-coelio",
                                                                          "hernie-inguinale-prothese")]  # fmt: skip
        budget = load * cap.get(rpps, 0.0)
        used = 0.0
        tries = 0
        while used < budget and tries < 10_000:
            tries += 1
            proc = rng.choices([p for p, _ in mix], weights=[w for _, w in mix])[0]
            priority = rng.choices(PRIORITY_NAMES, weights=proc.priorities)[0]
            sites = _sites_for(t, proc, priority)
            if not sites & privileges.get(rpps, frozenset()):
                continue
            median = medians.get(proc.code, proc.median_min)
            expected = max(15, 5 * round(rng.lognormvariate(math.log(median), proc.sigma) / 5))
            p90 = 5 * math.ceil(expected * math.exp(1.2816 * P90_SIGMA) / 5)
            first = start - timedelta(days=REFERRAL_BEFORE[priority])
            last = end - timedelta(days=REFERRAL_END_MARGIN[priority])
            referral = first + timedelta(days=rng.randrange(max(1, (last - first).days + 1)))
            while referral.weekday() >= 5:  # referrals are made on weekdays
                referral -= timedelta(days=1)
            case = SurgicalCase(
                id="", procedure=proc.code, label=labels.get(proc.code, proc.label), expected_min=expected,
                surgeon=rpps, priority=priority, referral=referral,
                due=referral + timedelta(days=DUE_AFTER[priority]),
                ready=referral + timedelta(days=READY_AFTER[priority]), p90_min=p90, sites=sites,
                anaesthesia=_pick(rng, proc.anaesthesia), equipment=proc.equipment,
            )  # fmt: skip
            drawn.append((referral, f"{rpps}-{len(drawn):05d}", case))
            used += expected + turnover_min
    drawn.sort(key=lambda x: (x[0], x[1]))
    return tuple(replace(c, id=f"c{n:04d}") for n, (_, _, c) in enumerate(drawn, start=1))


def instance_from_territory(t: Territory, start: date, days: int, cases: Sequence[SurgicalCase], *,
                            sessions: Sequence[Session] | None = None,
                            privileges: Mapping[str, frozenset[str]] | None = None, name: str = "",
                            turnover_min: int = 20, overtime_allowance_min: int = 30,
                            site_travel_min: int = DEFAULT_TRAVEL_MIN) -> TheatreInstance:  # fmt: skip
    """The planning problem of ``cases`` on ``t``'s theatres over ``days`` days from ``start``
    (default sessions and privileges: :mod:`.block`, privileges on ``start``)."""
    privs = dict(privileges) if privileges is not None else privileges_from_territory(t, start)
    block = (tuple(sessions) if sessions is not None else
             sessions_from_territory(t, start, days, privileges=privs, site_travel_min=site_travel_min))  # fmt: skip
    names = {p.rpps: f"Dr {p.first_name} {p.last_name}" for p in t.practitioners}
    return TheatreInstance(start, days, block, tuple(cases), privs, turnover_min=turnover_min,
                           overtime_allowance_min=overtime_allowance_min, site_travel_min=site_travel_min,
                           names=names, name=name or t.id)  # fmt: skip


def week(t: Territory, start: date, seed: int, *, weeks: int = 1, load: float = 1.15,
         privileges: Mapping[str, frozenset[str]] | None = None) -> TheatreInstance:  # fmt: skip
    """A seeded instance: ``weeks`` weeks of ``t``'s sessions from ``start`` (a Monday) and the
    waiting cases drawn for them."""
    days = 7 * weeks
    privs = dict(privileges) if privileges is not None else privileges_from_territory(t, start)
    sessions = sessions_from_territory(t, start, days, privileges=privs)
    cases = generate_cases(t, sessions, privs, start, days, seed, load=load)
    return instance_from_territory(t, start, days, cases, sessions=sessions, privileges=privs,
                                   name=f"{t.id}, {weeks} week{'s' if weeks > 1 else ''} from {start}")  # fmt: skip


def by_surgeon(cases: Sequence[SurgicalCase]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for c in cases:
        out[c.surgeon] += 1
    return dict(out)
