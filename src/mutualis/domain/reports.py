"""Reading reports: four sections, dose fields by modality, draft → signed, addenda.

A report is a draft until signed; a signed report is never edited: :func:`addendum` appends a
dated, signed addition and keeps the original text untouched. Dose fields are those the
diagnostic reference level rules ask for: CT CTDIvol (mGy) and DLP (mGy·cm), radiography the
dose-area product (mGy·cm²), mammography the mean glandular dose (mGy). They must be
non-negative numbers, given only for their modality, and CT and radiography ones are required
at signing. Errors name the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from mutualis.domain.errors import PermissionDenied, Problem, ValidationError
from mutualis.domain.territory import Modality


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


SECTIONS = ("indication", "technique", "findings", "conclusion")
DOSE_FIELDS: dict[Modality, tuple[str, ...]] = {
    Modality.CT: ("ctdi_vol_mgy", "dlp_mgy_cm"),
    Modality.DX: ("dap_mgy_cm2",),
    Modality.CR: ("dap_mgy_cm2",),
    Modality.MG: ("mgd_mgy",),
}
REQUIRED_AT_SIGNING = frozenset({Modality.CT, Modality.DX, Modality.CR})
REQUIRED_SECTIONS = ("findings", "conclusion")


@dataclass(frozen=True)
class Dose:
    ctdi_vol_mgy: float | None = None  # CT: volume CT dose index
    dlp_mgy_cm: float | None = None  # CT: dose-length product
    dap_mgy_cm2: float | None = None  # radiography: dose-area product
    mgd_mgy: float | None = None  # mammography: mean glandular dose


@dataclass(frozen=True)
class Addendum:
    text: str
    author: str  # RPPS
    at: datetime


@dataclass(frozen=True)
class Report:
    accession: str
    exam: str
    modality: Modality
    author: str  # RPPS of the radiologist writing it
    indication: str = ""
    technique: str = ""
    findings: str = ""
    conclusion: str = ""
    dose: Dose = Dose()
    status: ReportStatus = ReportStatus.DRAFT
    signed_by: str | None = None
    signed_at: datetime | None = None
    addenda: tuple[Addendum, ...] = ()
    id: int | None = None


def dose_problems(modality: Modality, dose: Dose, signing: bool = False) -> list[Problem]:
    """Dose values that are not non-negative numbers, given for another modality, or (when
    ``signing``) missing for CT and radiography."""
    allowed = DOSE_FIELDS.get(modality, ())
    problems = []
    for name in ("ctdi_vol_mgy", "dlp_mgy_cm", "dap_mgy_cm2", "mgd_mgy"):
        value = getattr(dose, name)
        where = f"dose.{name}"
        if value is None:
            if signing and name in allowed and modality in REQUIRED_AT_SIGNING:
                problems.append(Problem(where, f"required to sign a {modality.value} report"))
        elif name not in allowed:
            problems.append(Problem(where, f"not a dose field of {modality.value}"))
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            problems.append(Problem(where, "must be a number, zero or more"))
    return problems


def report_problems(report: Report, signing: bool = False) -> list[Problem]:
    """What is wrong with the report; when ``signing``, also what is missing to sign it."""
    problems = dose_problems(report.modality, report.dose, signing)
    if signing:
        problems += [Problem(s, "required to sign") for s in REQUIRED_SECTIONS if not getattr(report, s).strip()]
    return problems


def _draft(report: Report) -> None:
    if report.status is not ReportStatus.DRAFT:
        raise ValidationError(Problem("status", "a signed report is never edited: add an addendum"))


def edit(report: Report, *, indication: str | None = None, technique: str | None = None,
         findings: str | None = None, conclusion: str | None = None, dose: Dose | None = None) -> Report:
    """The draft with the given sections (and dose) replaced; the others kept."""
    _draft(report)
    changed = replace(
        report,
        indication=report.indication if indication is None else indication,
        technique=report.technique if technique is None else technique,
        findings=report.findings if findings is None else findings,
        conclusion=report.conclusion if conclusion is None else conclusion,
        dose=report.dose if dose is None else dose,
    )
    if problems := dose_problems(changed.modality, changed.dose):
        raise ValidationError(problems)
    return changed


def sign(report: Report, signer: str, at: datetime) -> Report:
    """The report signed by its author. Eligibility (privilege on the site…) is checked before,
    with :func:`mutualis.domain.reading.may_read`."""
    _draft(report)
    if signer != report.author:
        raise PermissionDenied("only the radiologist who wrote the report signs it")
    if problems := report_problems(report, signing=True):
        raise ValidationError(problems, "the report cannot be signed")
    return replace(report, status=ReportStatus.SIGNED, signed_by=signer, signed_at=at)


def addendum(report: Report, text: str, author: str, at: datetime) -> Report:
    """The signed report with an addendum appended; its original sections are kept as they were."""
    if report.status is not ReportStatus.SIGNED:
        raise ValidationError(Problem("status", "a draft is edited, not amended: sign it first"))
    if not text.strip():
        raise ValidationError(Problem("text", "an addendum needs a text"))
    if report.signed_at is not None and at < report.signed_at:
        raise ValidationError(Problem("at", "an addendum cannot predate the signature"))
    return replace(report, addenda=(*report.addenda, Addendum(text.strip(), author, at)))
