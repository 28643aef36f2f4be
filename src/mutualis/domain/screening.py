"""Organised breast-cancer screening: the double reading as a pure state machine, and the
indicators per reader.

Classes recorded per breast are the ACR classes of the French programme (BI-RADS categories):
ACR 1 normal and ACR 2 benign are *negative*; ACR 3, 4 and 5 are *positive*; ACR 0 (assessment
incomplete, more imaging needed) is handled as positive, since the woman needs more imaging
either way. Breast density is A to D. Technically insufficient images call the woman back for
new images, whatever the classes.

::

    awaiting_l1 ──L1 negative──► awaiting_l2 ──L2 negative──► closed
        │                            ▲   └────L2 positive──► recall (deferred work-up)
        ├──L1 positive──► workup ──negative after work-up┘
        │                    └──positive──► positive (follow-up, no L2)
        └──technically insufficient (L1 or L2)──► new_images

L1 and L2 are always two different radiologists; L2 only re-reads what L1 found negative
(after the immediate work-up if one was done) and is due within 15 days (DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum, StrEnum

from mutualis.domain.errors import PermissionDenied, Problem, ValidationError
from mutualis.domain.reading import ReadingTask, TaskStatus
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Practitioner


class Acr(IntEnum):
    ACR0 = 0  # incomplete: more imaging needed
    ACR1 = 1  # normal
    ACR2 = 2  # benign
    ACR3 = 3  # probably benign, short-term follow-up
    ACR4 = 4  # suspicious
    ACR5 = 5  # highly suggestive of cancer


NEGATIVE = frozenset({Acr.ACR1, Acr.ACR2})


class Density(StrEnum):
    A = "A"  # almost entirely fatty
    B = "B"  # scattered fibroglandular
    C = "C"  # heterogeneously dense
    D = "D"  # extremely dense


class ScreeningState(StrEnum):
    AWAITING_L1 = "awaiting_l1"
    WORKUP = "workup"  # L1 positive: immediate work-up by the L1 reader
    AWAITING_L2 = "awaiting_l2"
    RECALL = "recall"  # L2 positive where L1 was negative: deferred work-up
    NEW_IMAGES = "new_images"  # technically insufficient images
    POSITIVE = "positive"  # positive after the immediate work-up: follow-up, no L2
    CLOSED = "closed"  # negative at both readings


@dataclass(frozen=True)
class MammogramReading:
    reader: str  # RPPS
    at: datetime
    right: Acr
    left: Acr
    density: Density
    technically_insufficient: bool = False

    @property
    def positive(self) -> bool:
        return not self.technically_insufficient and not {self.right, self.left} <= NEGATIVE


@dataclass(frozen=True)
class ScreeningCase:
    accession: str
    state: ScreeningState = ScreeningState.AWAITING_L1
    l1: MammogramReading | None = None
    workup_negative: bool | None = None  # result of the immediate work-up, when one was done
    workup_at: datetime | None = None
    l2: MammogramReading | None = None

    @property
    def l2_only_positive(self) -> bool:
        """L2 found positive what L1 read (or worked up) as negative."""
        return self.state is ScreeningState.RECALL


def _expect(case: ScreeningCase, state: ScreeningState, what: str) -> None:
    if case.state is not state:
        raise ValidationError(Problem("state", f"cannot record {what}: the case is {case.state.value}"))


def _qualified(reader: Practitioner, reading: MammogramReading, qualification: str) -> None:
    if reader.rpps != reading.reader:
        raise ValidationError(Problem("reader", "the reading names another radiologist than the one recording it"))
    if qualification not in reader.qualifications:
        raise PermissionDenied(f"the qualification {qualification} is required for this reading")


def record_l1(case: ScreeningCase, reading: MammogramReading, reader: Practitioner,
              settings: ReadingSettings | None = None) -> ScreeningCase:
    """The first reading: negative → awaiting L2; positive → immediate work-up by the L1 reader
    (no L2 for now); technically insufficient → new images."""
    _expect(case, ScreeningState.AWAITING_L1, "a first reading")
    _qualified(reader, reading, (settings or ReadingSettings()).l1_qualification)
    if reading.technically_insufficient:
        state = ScreeningState.NEW_IMAGES
    elif reading.positive:
        state = ScreeningState.WORKUP
    else:
        state = ScreeningState.AWAITING_L2
    return replace(case, state=state, l1=reading)


def record_workup(case: ScreeningCase, rpps: str, negative: bool, at: datetime) -> ScreeningCase:
    """The immediate work-up by the L1 reader: negative ("négativé") → awaiting L2, else positive."""
    _expect(case, ScreeningState.WORKUP, "a work-up")
    assert case.l1 is not None
    if rpps != case.l1.reader:
        raise PermissionDenied("the immediate work-up is done by the first reader")
    state = ScreeningState.AWAITING_L2 if negative else ScreeningState.POSITIVE
    return replace(case, state=state, workup_negative=negative, workup_at=at)


def record_l2(case: ScreeningCase, reading: MammogramReading, reader: Practitioner,
              settings: ReadingSettings | None = None) -> ScreeningCase:
    """The second reading: by another radiologist than L1; positive → recall, technically
    insufficient → new images, negative → closed."""
    _expect(case, ScreeningState.AWAITING_L2, "a second reading")
    assert case.l1 is not None
    if reading.reader == case.l1.reader:
        raise ValidationError(Problem("reader", "the first and second readings must be by two different radiologists"))
    _qualified(reader, reading, (settings or ReadingSettings()).l2_qualification)
    if reading.technically_insufficient:
        state = ScreeningState.NEW_IMAGES
    elif reading.positive:
        state = ScreeningState.RECALL
    else:
        state = ScreeningState.CLOSED
    return replace(case, state=state, l2=reading)


def second_reading_task(case: ScreeningCase, first: ReadingTask, at: datetime,
                        settings: ReadingSettings | None = None, id: int | None = None) -> ReadingTask:
    """The L2 task of a case awaiting it: same exam, due ``screening_second_due`` after ``at``,
    the L1 reader excluded."""
    _expect(case, ScreeningState.AWAITING_L2, "a second-reading task")
    assert case.l1 is not None
    if first.kind is not TaskKind.SCREENING_L1:
        raise ValidationError(Problem("kind", "a second reading follows a screening first reading"))
    s = settings or ReadingSettings()
    return replace(first, kind=TaskKind.SCREENING_L2, ready_at=at, due_at=at + s.screening_second_due,
                   status=TaskStatus.WAITING, claimed_by=None, claimed_at=None, escalated=False,
                   excluded=(case.l1.reader,), id=id)


# ---------------------------------------------------------------- indicators


@dataclass(frozen=True)
class ReaderIndicators:
    """One radiologist's screening year. ``missed_at_l1``: their L1 negatives that L2 found
    positive; ``l2_only_positives``: positives they found as L2 where L1 was negative."""

    rpps: str
    year: int
    l1_readings: int = 0
    l2_readings: int = 0
    l1_positives: int = 0
    l2_only_positives: int = 0
    missed_at_l1: int = 0
    technically_insufficient: int = 0
    l1_minimum: int = 500
    l2_minimum: int = 1500

    @property
    def l1_volume_met(self) -> bool:
        return self.l1_readings >= self.l1_minimum

    @property
    def l2_volume_met(self) -> bool:
        return self.l2_readings >= self.l2_minimum

    @property
    def l1_positive_rate(self) -> float | None:
        return self.l1_positives / self.l1_readings if self.l1_readings else None

    @property
    def recall_rate(self) -> float | None:
        """Share of their second readings that recalled the woman."""
        return self.l2_only_positives / self.l2_readings if self.l2_readings else None


def reader_indicators(cases: Iterable[ScreeningCase], year: int,
                      settings: ReadingSettings | None = None) -> dict[str, ReaderIndicators]:
    """Indicators per reader over the readings made in ``year``, by RPPS."""
    s = settings or ReadingSettings()
    counts: dict[str, dict[str, int]] = {}

    def bump(rpps: str, key: str) -> None:
        counts.setdefault(rpps, {}).setdefault(key, 0)
        counts[rpps][key] += 1

    for c in cases:
        if c.l1 is not None and c.l1.at.year == year:
            bump(c.l1.reader, "l1_readings")
            if c.l1.positive:
                bump(c.l1.reader, "l1_positives")
            if c.l1.technically_insufficient:
                bump(c.l1.reader, "technically_insufficient")
            if c.l2_only_positive:
                bump(c.l1.reader, "missed_at_l1")
        if c.l2 is not None and c.l2.at.year == year:
            bump(c.l2.reader, "l2_readings")
            if c.l2_only_positive:
                bump(c.l2.reader, "l2_only_positives")
            if c.l2.technically_insufficient:
                bump(c.l2.reader, "technically_insufficient")
    return {rpps: ReaderIndicators(rpps, year, l1_minimum=s.l1_yearly_minimum, l2_minimum=s.l2_yearly_minimum, **n)
            for rpps, n in sorted(counts.items())}
