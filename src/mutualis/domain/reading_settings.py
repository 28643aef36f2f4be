"""A territory's reading settings (due times, claims, escalation, screening volumes, reading
minutes). Kept apart from ``reading.py`` so that the territory can hold them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from mutualis.domain.errors import Problem
from mutualis.domain.orders import Priority


class ReadingMode(StrEnum):
    PULL = "pull"  # radiologists claim exams from the shared worklist
    PUSH = "push"  # Mutualis assigns each exam (engines/dispatch.py)


class TaskKind(StrEnum):
    SINGLE = "single"
    SCREENING_L1 = "screening_l1"
    SCREENING_L2 = "screening_l2"


# expected reading minutes of the catalogue's exams whose reading differs from their modality's
# (assumptions: more regions, more series and injected phases take longer to read)
EXAM_READING_MINUTES: Mapping[str, float] = {
    "irm-encephale-gado": 25.0, "irm-rachis-gado": 25.0, "irm-genou": 15.0, "irm-epaule": 15.0,
    "irm-abdomino-pelvienne": 30.0, "irm-mammaire": 25.0,
    "tdm-crane": 8.0, "tdm-crane-inj": 10.0, "tdm-thorax": 12.0, "tdm-abdo-pelvien-inj": 18.0, "tdm-tap": 25.0,
    "tdm-rachis": 12.0, "tdm-membre-inf": 10.0, "infiltration-scannoguidee": 5.0,
    "rx-thorax": 3.0, "rx-asp": 3.0, "rx-bassin": 3.0, "rx-cuisse": 3.0, "rx-genou": 3.0,
    "rx-membres-inf-grand-format": 5.0, "mammo-diagnostique": 5.0, "biopsie-mammaire-echoguidee": 8.0,
    "cytoponction-thyroide": 8.0}


def _default_reading_minutes() -> dict[str, float]:
    return {"DX": 4.0, "CR": 4.0, "US": 5.0, "CT": 15.0, "MR": 20.0, "MG": 3.0, **EXAM_READING_MINUTES}


def _default_qualifications() -> dict[str, str]:
    return {"MR": "MR", "CT": "CT", "US": "US", "MG": "mammo-L1"}


@dataclass(frozen=True)
class ReadingSettings:
    """The reading rules of a territory, each default with its source or marked as an assumption.

    - Due times after the images are available: urgent 1 h, inpatient 24 h, outpatient 72 h,
      screening second reading 15 days (source: DOMAIN.md); screening first reading 72 h
      (assumption: an outpatient's delay; the programme has L1 read during the visit, a
      territory whose L1 readers sit beside the mammograph sets it shorter).
    - ``claim_lapse`` 30 min: a claim idle that long returns the exam to the worklist (assumption).
    - ``escalation_share`` 0.25: a waiting exam escalates when less than a quarter of its due
      delay is left (assumption: 15 min for an urgent exam).
    - ``mode``: ``pull`` by default (radiologists claim from a shared worklist; push is opt-in).
    - ``l1_yearly_minimum`` 500 and ``l2_yearly_minimum`` 1,500 screening readings a year
      (source: DOMAIN.md; another source says 2,000 for L2).
    - ``reading_minutes`` per modality or per exam code of the catalogue, an exam's own entry
      winning (assumptions, for push dispatch and the simulation): DX and CR 4, CT 15, MR 20,
      MG 3 per reading; US 5 for the report alone, the exam itself is performed by the
      radiologist during its slot; another modality ``default_reading_minutes``. The exams whose
      reading differs from their modality's are in :data:`EXAM_READING_MINUTES` (a head CT 8, a
      chest-abdomen-pelvis CT 25, a knee MRI 15, a chest X-ray 3...).
    - ``modality_qualifications``: the practitioner qualification needed to read a modality
      (assumption: the catalogue has no per-exam qualification, and the territory files list
      ``MR``, ``CT`` and ``US`` among radiologists' qualifications; a diagnostic mammogram needs a
      screening reader's ``mammo-L1``; DX and CR need none). Screening L1 needs
      ``l1_qualification``, L2 ``l2_qualification``.
    """

    urgent_due: timedelta = timedelta(hours=1)
    inpatient_due: timedelta = timedelta(hours=24)
    outpatient_due: timedelta = timedelta(hours=72)
    screening_first_due: timedelta = timedelta(hours=72)
    screening_second_due: timedelta = timedelta(days=15)
    claim_lapse: timedelta = timedelta(minutes=30)
    escalation_share: float = 0.25
    mode: ReadingMode = ReadingMode.PULL
    l1_yearly_minimum: int = 500
    l2_yearly_minimum: int = 1500
    reading_minutes: Mapping[str, float] = field(default_factory=_default_reading_minutes)
    default_reading_minutes: float = 10.0
    modality_qualifications: Mapping[str, str] = field(default_factory=_default_qualifications)
    l1_qualification: str = "mammo-L1"
    l2_qualification: str = "mammo-L2"

    def due_after(self, priority: Priority, kind: TaskKind) -> timedelta:
        if kind is TaskKind.SCREENING_L2:
            return self.screening_second_due
        if kind is TaskKind.SCREENING_L1:
            return self.screening_first_due
        return {Priority.URGENT: self.urgent_due, Priority.INPATIENT: self.inpatient_due}.get(
            priority, self.outpatient_due)

    def minutes_for(self, modality: str, exam: str | None = None) -> float:
        """Expected reading minutes of an exam: its own (``reading_minutes[exam]``), else its
        modality's, else ``default_reading_minutes``."""
        m = self.reading_minutes
        return m[exam] if exam is not None and exam in m else m.get(modality, self.default_reading_minutes)


def settings_problems(s: ReadingSettings) -> list[Problem]:
    """Every setting out of range, named by its field."""
    p = [Problem(name, "must be a positive delay") for name in
         ("urgent_due", "inpatient_due", "outpatient_due", "screening_first_due", "screening_second_due",
          "claim_lapse") if getattr(s, name) <= timedelta(0)]
    if not 0 <= s.escalation_share < 1:
        p.append(Problem("escalation_share", "must be at least 0 and below 1"))
    if s.l1_yearly_minimum < 0 or s.l2_yearly_minimum < 0:
        p.append(Problem("l1_yearly_minimum" if s.l1_yearly_minimum < 0 else "l2_yearly_minimum", "not negative"))
    p += [Problem(f"reading_minutes.{m}", "not negative") for m, v in s.reading_minutes.items() if v < 0]
    if s.default_reading_minutes < 0:
        p.append(Problem("default_reading_minutes", "not negative"))
    return p
