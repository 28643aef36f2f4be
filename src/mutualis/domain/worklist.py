"""What a modality sees of a booked exam: a Modality Worklist item, named with DICOM keywords,
and the Modality Performed Procedure Step states (PS3.3 C.4.14, IHE SWF)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mutualis.domain.orders import Order, OrderStatus, Patient, Priority
from mutualis.domain.territory import Equipment, Exam, Territory

_UID_NAMESPACE = uuid.UUID("8f0b7f0e-3c55-4b7a-9a38-6b1d4c2e5a10")  # Mutualis study UIDs
DICOM_PRIORITY = {Priority.URGENT: "STAT", Priority.INPATIENT: "HIGH", Priority.OUTPATIENT: "ROUTINE",
                  Priority.SCREENING: "LOW"}


def study_instance_uid(accession_number: str) -> str:
    """A StudyInstanceUID stable per order: the UUID-derived root 2.25 (PS3.5 B.2) of a name-based UUID."""
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, accession_number).int}"


def person_name(last: str, first: str) -> str:
    return f"{last.upper()}^{first}"


def worklist_item(t: Territory, order: Order, patient: Patient, equipment: Equipment, exam: Exam,
                  start_local: datetime, requester_name: str) -> dict[str, object]:
    """The worklist item of a booked order, keyed by DICOM keyword (values as DICOM strings)."""
    accession = order.accession_number or ""
    site = t.site(equipment.site)
    sps: dict[str, object] = {
        "ScheduledStationAETitle": equipment.ae_title or "",
        "ScheduledProcedureStepStartDate": start_local.strftime("%Y%m%d"),
        "ScheduledProcedureStepStartTime": start_local.strftime("%H%M%S"),
        "Modality": equipment.modality.value if equipment.modality else "",
        "ScheduledPerformingPhysicianName": "",
        "ScheduledProcedureStepDescription": exam.label[:64],
        "ScheduledProcedureStepID": f"S{order.id}",
        "ScheduledStationName": (equipment.station_name or "")[:16],
        "ScheduledProcedureStepLocation": site.name[:16],
        "ScheduledProcedureStepStatus": "ARRIVED" if order.status is OrderStatus.ARRIVED else "SCHEDULED",
        "PreMedication": "",
        "RequestedContrastAgent": "",
        "ScheduledProtocolCodeSequence": [
            {"CodeValue": exam.ccam, "CodingSchemeDesignator": "CCAM", "CodeMeaning": exam.label[:64]}
        ] if exam.ccam else [],
    }
    return {
        "PatientName": person_name(patient.last_name, patient.first_name),
        "PatientID": patient.nir,
        "IssuerOfPatientID": "INS-NIR",
        "PatientBirthDate": patient.birth_date.strftime("%Y%m%d"),
        "PatientSex": patient.sex.value,
        "AccessionNumber": accession,
        "StudyInstanceUID": study_instance_uid(accession),
        "RequestedProcedureID": accession,
        "RequestedProcedureDescription": exam.label[:64],
        "RequestedProcedurePriority": DICOM_PRIORITY[order.priority],
        "RequestingPhysician": requester_name,
        "ReferringPhysicianName": requester_name,
        "InstitutionName": t.name[:64],
        "ReasonForTheRequestedProcedure": order.clinical_info[:64],
        "RequestedProcedureCodeSequence": [
            {"CodeValue": exam.ccam, "CodingSchemeDesignator": "CCAM", "CodeMeaning": exam.label[:64]}
        ] if exam.ccam else [],
        "ScheduledProcedureStepSequence": [sps],
    }


class MppsStatus(StrEnum):
    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"


@dataclass(frozen=True)
class PerformedSeries:
    series_instance_uid: str
    modality: str = ""
    description: str = ""
    instances: int = 0


@dataclass(frozen=True)
class Mpps:
    sop_instance_uid: str
    order_id: int
    status: MppsStatus
    station_ae: str
    series: tuple[PerformedSeries, ...] = field(default_factory=tuple)
