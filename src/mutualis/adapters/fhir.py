"""FHIR R4 resources made from Mutualis values (JSON as dicts). French identifier systems are
those of the ANS: INS-NIR ``urn:oid:1.2.250.1.213.1.4.8``, RPPS ``urn:oid:1.2.250.1.71.4.2.1``,
CCAM ``urn:oid:1.2.250.1.213.2.5``."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from mutualis.domain.orders import Order, Patient
from mutualis.domain.reports import Report, ReportStatus
from mutualis.domain.territory import Territory

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
RPPS = "urn:oid:1.2.250.1.71.4.2.1"
CCAM = "urn:oid:1.2.250.1.213.2.5"
ACCESSION = "urn:mutualis:accession"
DOSE_LABELS = (("ctdi_vol_mgy", "CTDIvol", "mGy"), ("dlp_mgy_cm", "PDL", "mGy.cm"),
               ("dap_mgy_cm2", "PDS", "mGy.cm2"), ("mgd_mgy", "DGM", "mGy"))


def _instant(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="seconds")


def report_text(report: Report, exam_label: str) -> str:
    """The report as the requesting site reads it: sections, dose, signature, then addenda."""
    lines = [f"Compte rendu — {exam_label} (n° {report.accession})", ""]
    for title, body in (("Indication", report.indication), ("Technique", report.technique),
                        ("Résultats", report.findings), ("Conclusion", report.conclusion)):
        if body.strip():
            lines += [f"{title} :", body.strip(), ""]
    doses = [f"{label} {getattr(report.dose, key)} {unit}" for key, label, unit in DOSE_LABELS
             if getattr(report.dose, key) is not None]
    if doses:
        lines += ["Dosimétrie : " + ", ".join(doses), ""]
    if report.signed_at is not None:
        lines.append(f"Signé le {report.signed_at:%d/%m/%Y à %H:%M} UTC par RPPS {report.signed_by}")
    for a in report.addenda:
        lines += ["", f"Addendum du {a.at:%d/%m/%Y à %H:%M} UTC (RPPS {a.author}) :", a.text]
    return "\n".join(lines)


def diagnostic_report(report: Report, order: Order, patient: Patient, t: Territory,
                      performed: datetime | None = None) -> dict[str, Any]:
    """A signed report as a FHIR R4 DiagnosticReport (``amended`` once it has an addendum);
    ``performed``: when the exam was done (its appointment)."""
    exam = next((x for x in t.exams if x.code == report.exam), None)
    label = exam.label if exam else report.exam
    coding = [{"system": CCAM, "code": exam.ccam, "display": label}] if exam and exam.ccam else []
    status = ("amended" if report.addenda else "final") if report.status is ReportStatus.SIGNED else "preliminary"
    text = report_text(report, label)
    return {
        "resourceType": "DiagnosticReport",
        "id": str(report.id),
        "identifier": [{"system": ACCESSION, "value": report.accession}],
        "basedOn": [{"type": "ServiceRequest", "identifier": {"system": ACCESSION, "value": report.accession}}],
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD",
                                  "display": "Radiology"}]}],
        "code": {"coding": coding, "text": label},
        "subject": {"type": "Patient", "identifier": {"system": INS_NIR, "value": patient.nir},
                    "display": patient.display_name},
        "effectiveDateTime": _instant(performed or order.created_at),
        "issued": _instant(report.signed_at),
        "resultsInterpreter": [{"type": "Practitioner", "identifier": {"system": RPPS, "value": report.signed_by
                                                                         or report.author}}],
        "conclusion": report.conclusion,
        "presentedForm": [{"contentType": "text/plain; charset=utf-8", "language": "fr",
                           "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                           "title": f"Compte rendu {report.accession}"}],
    }
