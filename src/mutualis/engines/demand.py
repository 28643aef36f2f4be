"""Synthetic imaging demand: orders for fictional patients, sized on a territory's capacity.

:func:`generate_demand` draws, day by day, the imaging orders a territory could receive: for
each DICOM modality that has imaging equipment, a Poisson number of orders per priority whose
weekly mean fills ``load_factor`` of the modality's weekly opening minutes. Each order has a
new fictional patient living in a commune of the territory's departments (drawn in proportion
to population), with a valid NIR, a requesting site (mostly the nearest one) and a fictional
prescriber. :func:`modality_demand` gives the rates it works from.

Pure: standard library and the domain only; every random draw comes from one
``random.Random(seed)``, so the same inputs and seed give the same list. People and RPPS
numbers are invented (common French names, random digits with valid keys).

The numbers are in :class:`DemandSettings`, each with its source or marked as an assumption.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate

from mutualis.domain.identifiers import luhn_key, nir_key
from mutualis.domain.orders import Patient, Priority, Sex
from mutualis.domain.territory import WEEKDAYS, Commune, Equipment, EquipmentKind, Exam, Modality, Site, Territory
from mutualis.engines.travel import great_circle_km

P = Priority


@dataclass(frozen=True)
class ExamProfile:
    """Who has an exam: age in whole years on the request day (triangular law between
    ``min_age`` and ``max_age`` with its peak at ``mode_age``) and the share of women."""

    min_age: int
    mode_age: int
    max_age: int
    female_share: float = 0.5


MAMMOGRAPHY_PROFILE = ExamProfile(30, 55, 90, 0.95)


def _default_priority_mix() -> dict[str, dict[Priority, float]]:
    return {
        "CT": {P.URGENT: 0.25, P.INPATIENT: 0.25, P.OUTPATIENT: 0.50},
        "MR": {P.URGENT: 0.05, P.INPATIENT: 0.15, P.OUTPATIENT: 0.80},
        "DX": {P.URGENT: 0.30, P.INPATIENT: 0.20, P.OUTPATIENT: 0.50},
        "CR": {P.URGENT: 0.30, P.INPATIENT: 0.20, P.OUTPATIENT: 0.50},
        "US": {P.URGENT: 0.15, P.INPATIENT: 0.20, P.OUTPATIENT: 0.65},
        "MG": {P.SCREENING: 0.70, P.OUTPATIENT: 0.30},
    }


def _default_exam_frequency() -> dict[str, dict[str, float]]:
    # Keywords are matched, in this order, against the exam's code and label (lower case,
    # accents removed); the first that matches gives the weight; no match: 1.0.
    return {
        "DX": {"thorax": 4.0, "genou": 2.5, "goniometrie": 0.5, "grand-format": 0.5, "cheville": 2.0,
               "poignet": 2.0, "main": 2.0, "pied": 2.0, "epaule": 2.0, "coude": 2.0, "membre": 2.0,
               "cuisse": 1.0, "rachis": 1.5, "bassin": 1.5, "sans preparation": 0.5},
        "CR": {"thorax": 4.0, "genou": 2.5, "membre": 2.0, "rachis": 1.5, "bassin": 1.5, "sans preparation": 0.5},
        "US": {"biopsie": 0.3, "ponction": 0.3, "abdominale": 3.0, "pelvi": 2.5, "doppler": 2.0, "renal": 1.5,
               "thyro": 1.5, "mamm": 1.5, "prostat": 1.0},
        "CT": {"infiltration": 0.3, "biopsie": 0.3, "crane": 3.0, "cerebr": 3.0, "thoraco-abdomino": 1.5,
               "thorax": 2.0, "abdo": 2.0, "rachis": 1.0, "membre": 0.7},
        "MR": {"encephale": 2.0, "rachis": 2.0, "genou": 1.5, "epaule": 1.0, "abdomin": 1.0, "mamm": 0.5},
        "MG": {"diagnost": 2.0, "unilat": 1.0},
    }


def _default_profiles() -> dict[str, ExamProfile]:
    return {
        "mamm": MAMMOGRAPHY_PROFILE,
        "prostat": ExamProfile(45, 70, 95, 0.0),
        "thoraco-abdomino": ExamProfile(30, 68, 95),
        "doppler": ExamProfile(25, 68, 95),
        "infiltration": ExamProfile(25, 60, 90),
        "thyro": ExamProfile(18, 55, 90),
    }


@dataclass(frozen=True)
class DemandSettings:
    """Every number of the generator, with its source ("assumption" where there is none).

    - ``load_factor`` 0.95: demand in exam-minutes as a share of each modality's weekly opening
      minutes (assumption: a platform running close to full).
    - ``priority_mix`` per modality (assumption for all): CT urgent 0.25 / inpatient 0.25 /
      outpatient 0.50; MR 0.05 / 0.15 / 0.80; DX and CR 0.30 / 0.20 / 0.50; US 0.15 / 0.20 / 0.65;
      MG screening 0.70 / outpatient 0.30 (the mammograph is there for organised screening,
      source: DOMAIN.md "Aveyron PIMM"; the 0.70 share is an assumption). Other modalities:
      ``default_priority_mix`` urgent 0.20 / inpatient 0.20 / outpatient 0.60 (assumption).
      Screening exams (code or label containing "dépistage") only ever have priority screening
      and the other exams never; an exam in ``not_urgent_keywords`` (biopsy, puncture,
      infiltration, long-leg views: planned acts, assumption) is never urgent. A priority with no exam
      left is dropped and the others rescaled.
    - ``due_days`` (days after the request day): urgent 0, inpatient 2 (assumption), screening
      60 (assumption), outpatient per modality in ``outpatient_due_days``: MR 20 (source:
      DOMAIN.md "Figures to beat", the national cancer plan's target for an MRI), CT 10, US 15,
      DX and CR 7, MG 15 (assumptions); another modality: ``due_days[outpatient]`` 15
      (assumption). ``not_before`` is the request day for urgent and inpatient orders, the next
      day for outpatient and screening ones; ``due_by`` is never before ``not_before``.
    - ``screening_age`` 50–74 inclusive, women only (source: DOMAIN.md "Organised breast-cancer
      screening"), ages uniform in that range.
    - ``weekend_factor`` 0.15: Saturday and Sunday rate of non-urgent orders relative to a
      weekday; urgent orders are as frequent every day (assumption). Weekly totals keep the mix.
    - ``office_hours`` 08:00–18:00: when non-urgent orders are made (urgent ones at any minute of
      the day) (assumption).
    - ``nearest_site_share`` 0.8: share of orders requested by the site nearest the patient's
      commune (great circle); the others by a site drawn at random (assumption). Only sites of
      establishments that are members of a convention request, when the territory has one.
    - ``prescribers_per_site`` 15: fictional requesting physicians per requesting site
      (assumption).
    - ``exam_frequency``: relative frequency of the exams of a modality, by keyword of the code
      or label (first match in order; 1.0 when none matches) (assumption for all, the usual
      order of activity): DX chest 4, knee 2.5, other limbs 2, spine and pelvis 1.5, thigh 1,
      abdomen and long-leg views 0.5; US abdomen 3, pelvis 2.5, venous doppler 2, kidney,
      thyroid and breast 1.5, bladder-prostate 1, biopsy and fine-needle aspiration 0.3; CT head
      3, chest and abdomen-pelvis 2, chest-abdomen-pelvis 1.5, spine 1, limb 0.7, guided
      infiltration 0.3; MR brain and spine 2, knee 1.5, shoulder and abdomen-pelvis 1, breast
      0.5; MG diagnostic 2, unilateral 1 (screening's share comes from the priority mix). The
      mean exam duration of a modality is weighted by these frequencies, so that demanded
      minutes are ``load_factor`` × capacity.
    - Patients (assumptions): sex 50/50 and ages 1–95 peaking at 60 (``default_profile``);
      MG exams other than screening: 95 % women, 30–90 peaking at 55
      (``mammography_profile``); ``profiles`` by keyword: breast exams of other modalities as
      MG, prostate 45–95 men only, chest-abdomen-pelvis CT 30–95 peak 68, venous doppler 25–95
      peak 68, infiltration 25–90 peak 60, thyroid 18–90 peak 55.
    """

    load_factor: float = 0.95
    priority_mix: Mapping[str, Mapping[Priority, float]] = field(default_factory=_default_priority_mix)
    default_priority_mix: Mapping[Priority, float] = field(
        default_factory=lambda: {P.URGENT: 0.20, P.INPATIENT: 0.20, P.OUTPATIENT: 0.60}
    )
    due_days: Mapping[Priority, int] = field(
        default_factory=lambda: {P.URGENT: 0, P.INPATIENT: 2, P.OUTPATIENT: 15, P.SCREENING: 60}
    )
    outpatient_due_days: Mapping[str, int] = field(
        default_factory=lambda: {"MR": 20, "CT": 10, "US": 15, "DX": 7, "CR": 7, "MG": 15}
    )
    screening_age: tuple[int, int] = (50, 74)
    weekend_factor: float = 0.15
    office_hours: tuple[int, int] = (8 * 60, 18 * 60)  # minutes since midnight
    nearest_site_share: float = 0.8
    prescribers_per_site: int = 15
    not_urgent_keywords: tuple[str, ...] = ("biopsie", "ponction", "infiltration", "goniometrie")
    exam_frequency: Mapping[str, Mapping[str, float]] = field(default_factory=_default_exam_frequency)
    default_profile: ExamProfile = ExamProfile(1, 60, 95, 0.5)
    mammography_profile: ExamProfile = MAMMOGRAPHY_PROFILE
    profiles: Mapping[str, ExamProfile] = field(default_factory=_default_profiles)


@dataclass(frozen=True)
class GeneratedOrder:
    patient: Patient  # id=None; NIR consistent with sex, birth year and month, commune
    exam: str  # catalogue code of the territory
    priority: Priority
    requesting_site: str  # site id of the territory
    requester: str  # RPPS of the (fictional) requesting physician
    requested_at: datetime  # naive, territory-local time
    not_before: date
    due_by: date
    clinical_info: str


@dataclass(frozen=True)
class ExamShare:
    """An exam a priority may draw, its relative weight and duration."""

    exam: Exam
    weight: float


@dataclass(frozen=True)
class ModalityDemand:
    """The demand of one modality: weekly capacity, frequency-weighted mean exam duration,
    expected orders per week, and per priority its share and the exams it draws from."""

    modality: Modality
    capacity_min_per_week: int
    mean_duration_min: float
    orders_per_week: float
    priority_shares: Mapping[Priority, float]
    exams: Mapping[Priority, tuple[ExamShare, ...]]

    @property
    def orders_per_day(self) -> float:
        return self.orders_per_week / 7


# ---------------------------------------------------------------- text helpers


def _plain(text: str) -> str:
    """Lower case without accents, for keyword matching."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _text(exam: Exam) -> str:
    return _plain(f"{exam.code} {exam.label}")


def is_screening(exam: Exam) -> bool:
    """A screening exam: its code or label says "dépistage"."""
    return "depistage" in _text(exam)


def _first_match(text: str, table: Mapping[str, float]) -> float | None:
    return next((value for key, value in table.items() if _plain(key) in text), None)


def _weight(found: float | None) -> float:
    return 1.0 if found is None else found


# ---------------------------------------------------------------- rates


def weekly_opening_minutes(equipment: Equipment) -> int:
    """Minutes a machine is open in a week (closures ignored)."""
    return sum(r.end - r.start for day in WEEKDAYS for r in equipment.opening_hours.get(day, ()))


def _compatible(exam: Exam, priority: Priority, not_urgent: Sequence[str]) -> bool:
    if is_screening(exam):
        return priority is P.SCREENING
    if priority is P.SCREENING:
        return False
    return not (priority is P.URGENT and any(_plain(k) in _text(exam) for k in not_urgent))


def modality_demand(territory: Territory, settings: DemandSettings | None = None) -> dict[Modality, ModalityDemand]:
    """The demand of each modality with open imaging equipment and at least one exam it can do."""
    s = settings or DemandSettings()
    catalogue = [e for e in territory.exams if e.kind is EquipmentKind.IMAGING and e.modality is not None]
    machines: dict[Modality, list[Equipment]] = {}
    for eq in territory.equipment:
        if eq.kind is EquipmentKind.IMAGING and eq.modality is not None and weekly_opening_minutes(eq) > 0:
            machines.setdefault(eq.modality, []).append(eq)
    result: dict[Modality, ModalityDemand] = {}
    for modality in sorted(machines):
        eqs = machines[modality]
        capacity = sum(weekly_opening_minutes(eq) for eq in eqs)
        doable = [
            e for e in catalogue if e.modality == modality and any(not eq.exams or e.code in eq.exams for eq in eqs)
        ]
        frequency = s.exam_frequency.get(modality, {})
        weights = {e.code: _weight(_first_match(_text(e), frequency)) for e in doable}
        mix = s.priority_mix.get(modality, s.default_priority_mix)
        exams: dict[Priority, tuple[ExamShare, ...]] = {}
        shares: dict[Priority, float] = {}
        for priority in Priority:
            share = mix.get(priority, 0.0)
            pool = tuple(
                ExamShare(e, weights[e.code])
                for e in doable
                if weights[e.code] > 0 and _compatible(e, priority, s.not_urgent_keywords)
            )
            if share > 0 and pool:
                exams[priority], shares[priority] = pool, share
        total = sum(shares.values())
        if capacity <= 0 or total <= 0:
            continue
        shares = {p: v / total for p, v in shares.items()}
        mean = sum(
            share * sum(x.weight * x.exam.duration_min for x in exams[p]) / sum(x.weight for x in exams[p])
            for p, share in shares.items()
        )
        result[modality] = ModalityDemand(modality, capacity, mean, s.load_factor * capacity / mean, shares, exams)
    return result


def _daily_rate(demand: ModalityDemand, priority: Priority, weekend: bool, weekend_factor: float) -> float:
    weekly = demand.orders_per_week * demand.priority_shares[priority]
    if priority is P.URGENT:
        return weekly / 7
    weekday = weekly / (5 + 2 * weekend_factor)
    return weekday * weekend_factor if weekend else weekday


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's product of uniforms, in steps of at most 30 so that e^-λ stays
    far from underflow; a sum of Poisson draws is Poisson)."""
    n = 0
    while lam > 0:
        step = min(lam, 30.0)
        lam -= step
        limit, product = math.exp(-step), rng.random()
        while product > limit:
            n += 1
            product *= rng.random()
    return n


# ---------------------------------------------------------------- people

FEMALE_FIRST_NAMES = (
    "Marie", "Jeanne", "Françoise", "Monique", "Catherine", "Nathalie", "Isabelle", "Sylvie", "Anne", "Martine",
    "Christine", "Sophie", "Valérie", "Sandrine", "Céline", "Julie", "Camille", "Léa", "Manon", "Emma", "Chloé",
    "Inès", "Sarah", "Louise", "Jade", "Élodie", "Aurélie", "Stéphanie", "Christiane", "Nicole", "Odette", "Simone",
)  # fmt: skip
MALE_FIRST_NAMES = (
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Patrick", "Nicolas", "Christophe", "Daniel", "Bernard", "Éric",
    "Frédéric", "Laurent", "Stéphane", "David", "Julien", "Thomas", "Sébastien", "Guillaume", "Antoine", "Maxime",
    "Hugo", "Lucas", "Louis", "Gabriel", "Jules", "Arthur", "Paul", "André", "Jacques", "Marcel", "René",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon",
    "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Girard", "Bonnet", "Dupont", "Lambert",
    "Fontaine", "Rousseau", "Vincent", "Muller", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas",
    "Henry", "Roussel", "Mathieu", "Masson", "Marchand", "Duval", "Denis", "Lemaire", "Picard", "Roy", "Colin",
)  # fmt: skip


def _same_day(on: date, year: int) -> date:
    return date(year, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _birth_date(rng: random.Random, on: date, age: int) -> date:
    """A birth date giving exactly ``age`` whole years on ``on``."""
    latest = _same_day(on, on.year - age)
    earliest = _same_day(on, on.year - age - 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _nir(rng: random.Random, sex: Sex, birth: date, insee: str) -> str:
    body = f"{'2' if sex is Sex.FEMALE else '1'}{birth.year % 100:02d}{birth.month:02d}{insee}{rng.randint(1, 999):03d}"
    return body + nir_key(body)


def _rpps(rng: random.Random) -> str:
    body = f"1{rng.randrange(10**9):09d}"
    return body + luhn_key(body)


# ---------------------------------------------------------------- clinical information

# (keywords, templates): the first entry with a keyword in the exam's code or label wins.
# {side}/{side_f}: droit/droite or gauche; {n}: a small number.
_CLINICAL: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("depistage",), ("Dépistage organisé du cancer du sein, invitation reçue",
                      "Dépistage organisé, dernière mammographie il y a 2 ans")),
    (("biopsie",), ("Lésion ACR 4 du sein {side} à prélever", "Masse du sein {side} classée ACR 5")),
    (("ponction",), ("Nodule thyroïdien EU-TIRADS 4 du lobe {side}", "Nodule thyroïdien augmentant de taille")),
    (("infiltration",), ("Radiculalgie L5 {side_f} rebelle au traitement médical",
                         "Lombosciatique {side_f} depuis {n} semaines malgré le traitement")),
    (("thoraco-abdomino",), ("Bilan d'extension d'un cancer du côlon", "Altération de l'état général, amaigrissement",
                             "Surveillance d'un lymphome")),
    (("mamm",), ("Nodule palpable du sein {side}", "Surveillance après traitement d'un cancer du sein",
                 "Mastodynie {side_f} persistante depuis {n} semaines")),
    (("prostat", "vesic"), ("Troubles mictionnels, dysurie", "Hématurie macroscopique", "PSA élevé à {n} ng/mL")),
    (("renal",), ("Colique néphrétique {side_f}", "Insuffisance rénale à explorer")),
    (("thyro",), ("Nodule thyroïdien palpé", "Goitre à explorer", "Hyperthyroïdie à explorer")),
    (("doppler", "veineux"), ("Suspicion de thrombose veineuse du mollet {side}",
                              "Œdème du membre inférieur {side} depuis {n} jours")),
    (("encephale", "crane", "cerebr"), ("Céphalées inhabituelles depuis {n} jours",
                                        "Chute avec traumatisme crânien sous anticoagulant",
                                        "Déficit moteur du membre supérieur {side} transitoire",
                                        "Vertiges et troubles de l'équilibre")),
    (("rachis",), ("Lombosciatique {side_f} depuis {n} semaines", "Lombalgie chronique, bilan avant infiltration",
                   "Chute, douleur lombaire")),
    (("genou",), ("Douleur du genou {side} depuis {n} semaines",
                  "Traumatisme du genou {side} au sport, suspicion de lésion méniscale")),
    (("epaule",), ("Douleur de l'épaule {side} depuis {n} semaines, suspicion de rupture de la coiffe",)),
    (("goniometrie", "grand-format"), ("Bilan de gonarthrose avant prothèse",
                                       "Déviation axiale des membres inférieurs")),
    (("cuisse", "femur", "membre"), ("Chute, douleur de la cuisse {side_f}",
                                     "Traumatisme du membre inférieur {side}")),
    (("bassin",), ("Chute, douleur de la hanche {side_f}", "Coxalgie {side_f} depuis {n} mois")),
    (("thorax",), ("Toux fébrile depuis {n} jours", "Dyspnée d'effort, suspicion de pneumopathie",
                   "Bilan préopératoire", "Nodule pulmonaire à surveiller")),
    (("sans preparation",), ("Suspicion d'occlusion intestinale",
                             "Douleurs abdominales, recherche d'un pneumopéritoine")),
    (("abdo",), ("Douleurs de l'hypocondre droit", "Bilan d'une cholestase", "Douleurs de la fosse iliaque {side_f}",
                 "Amaigrissement inexpliqué")),
    (("pelvi",), ("Douleurs pelviennes depuis {n} semaines", "Masse pelvienne à explorer")),
)  # fmt: skip


def _clinical_templates(exam: Exam) -> tuple[str, ...]:
    text = _text(exam)
    for keywords, templates in _CLINICAL:
        if any(k in text for k in keywords):
            return templates
    return (f"Bilan demandé : {exam.label[:1].lower()}{exam.label[1:]}",)


# ---------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Draw:
    """What one priority of one modality draws: exams with cumulative weights, and per exam
    its profile and clinical texts (computed once)."""

    exams: tuple[Exam, ...]
    cumulative: tuple[float, ...]
    profiles: tuple[ExamProfile | None, ...]  # None: screening
    clinical: tuple[tuple[str, ...], ...]


def _profile(exam: Exam, s: DemandSettings) -> ExamProfile | None:
    if is_screening(exam):
        return None
    if exam.modality is Modality.MG:
        return s.mammography_profile
    text = _text(exam)
    return next((p for key, p in s.profiles.items() if _plain(key) in text), s.default_profile)


def _requesting_sites(territory: Territory) -> tuple[Site, ...]:
    members = {m for c in territory.conventions for m in c.members}
    sites = tuple(s for s in territory.sites if s.establishment in members)
    return sites or territory.sites


def _patient(rng: random.Random, profile: ExamProfile | None, commune: Commune, on: date,
             s: DemandSettings) -> Patient:  # fmt: skip
    if profile is None:
        sex, age = Sex.FEMALE, rng.randint(*s.screening_age)
    else:
        sex = Sex.FEMALE if rng.random() < profile.female_share else Sex.MALE
        age = min(profile.max_age, int(rng.triangular(profile.min_age, profile.max_age + 1, profile.mode_age)))
    birth = _birth_date(rng, on, age)
    first_names = FEMALE_FIRST_NAMES if sex is Sex.FEMALE else MALE_FIRST_NAMES
    return Patient(
        nir=_nir(rng, sex, birth, commune.insee),
        last_name=rng.choice(LAST_NAMES),
        first_name=rng.choice(first_names),
        birth_date=birth,
        sex=sex,
        insee=commune.insee,
        phone="06 " + " ".join(f"{rng.randrange(100):02d}" for _ in range(4)),
    )


def generate_demand(
    territory: Territory,
    communes: Mapping[str, Commune],
    start: date,
    days: int,
    seed: int,
    settings: DemandSettings | None = None,
) -> list[GeneratedOrder]:
    """The orders requested over ``days`` days from ``start``, sorted by request time then exam."""
    if days < 0:
        raise ValueError(f"days must be zero or more, not {days}")
    s = settings or DemandSettings()
    if not 0 <= s.nearest_site_share <= 1 or s.load_factor < 0 or s.weekend_factor < 0:
        raise ValueError("nearest_site_share must be within 0-1, load_factor and weekend_factor not negative")
    if s.prescribers_per_site < 1:
        raise ValueError("prescribers_per_site must be at least 1")
    if not 0 <= s.office_hours[0] < s.office_hours[1] <= 1440 or not 0 <= s.screening_age[0] <= s.screening_age[1]:
        raise ValueError("office_hours must be a non-empty range of minutes within the day, screening_age min ≤ max")
    demand = modality_demand(territory, s)
    if days == 0 or not demand:
        return []

    departments = {communes[x.insee].department if x.insee in communes else x.insee[:2] for x in territory.sites}
    residents = sorted((c for c in communes.values() if c.department in departments and c.population > 0),
                       key=lambda c: c.insee)  # fmt: skip
    if not residents:
        raise ValueError(f"no commune with inhabitants in departments {sorted(departments)}")
    population = tuple(accumulate(c.population for c in residents))

    sites = _requesting_sites(territory)
    if not sites:
        raise ValueError("the territory has no site to request exams")
    located = [x for x in sites if x.insee in communes]
    nearest: dict[str, str] = {}
    if located:
        for c in residents:
            nearest[c.insee] = min(located, key=lambda x: (great_circle_km(c, communes[x.insee]), x.id)).id
    rng = random.Random(seed)
    prescribers = {x.id: tuple(_rpps(rng) for _ in range(s.prescribers_per_site)) for x in sites}

    draws: dict[tuple[Modality, Priority], _Draw] = {}
    for modality, d in demand.items():
        for priority, pool in d.exams.items():
            draws[modality, priority] = _Draw(
                tuple(x.exam for x in pool),
                tuple(accumulate(x.weight for x in pool)),
                tuple(_profile(x.exam, s) for x in pool),
                tuple(_clinical_templates(x.exam) for x in pool),
            )

    orders: list[GeneratedOrder] = []
    first_minute, last_minute = s.office_hours
    for offset in range(days):
        day = start + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day)
        weekend = day.weekday() >= 5
        for modality, d in demand.items():
            outpatient_due = s.outpatient_due_days.get(modality, s.due_days.get(P.OUTPATIENT, 15))
            for priority in d.priority_shares:
                draw = draws[modality, priority]
                due = outpatient_due if priority is P.OUTPATIENT else s.due_days.get(priority, 0)
                not_before = day if priority in (P.URGENT, P.INPATIENT) else day + timedelta(days=1)
                due_by = max(not_before, day + timedelta(days=due))
                for _ in range(poisson(rng, _daily_rate(d, priority, weekend, s.weekend_factor))):
                    i = rng.choices(range(len(draw.exams)), cum_weights=draw.cumulative)[0]
                    commune = rng.choices(residents, cum_weights=population)[0]
                    if commune.insee in nearest and rng.random() < s.nearest_site_share:
                        site = nearest[commune.insee]
                    else:
                        site = rng.choice(sites).id
                    minute = rng.randrange(1440) if priority is P.URGENT else rng.randrange(first_minute, last_minute)
                    side = rng.randrange(2)
                    info = rng.choice(draw.clinical[i]).format(
                        side=("droit", "gauche")[side], side_f=("droite", "gauche")[side], n=rng.randint(2, 8)
                    )
                    orders.append(
                        GeneratedOrder(
                            patient=_patient(rng, draw.profiles[i], commune, day, s),
                            exam=draw.exams[i].code,
                            priority=priority,
                            requesting_site=site,
                            requester=rng.choice(prescribers[site]),
                            requested_at=midnight + timedelta(minutes=minute),
                            not_before=not_before,
                            due_by=due_by,
                            clinical_info=info,
                        )
                    )
    orders.sort(key=lambda o: (o.requested_at, o.exam))
    return orders
