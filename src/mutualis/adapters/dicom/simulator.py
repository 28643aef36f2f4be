"""A simulated modality (IHE Acquisition Modality actor): it queries the Modality Worklist,
reports MPPS IN PROGRESS, makes a small synthetic study (no image data from outside), stores it
in the PACS (STOW-RS), and reports MPPS COMPLETED with the performed series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
)

from mutualis.adapters.dicom.pacs import DicomWebPacs
from mutualis.adapters.dicom.synthetic import build_study
from mutualis.domain.errors import MutualisError


class ModalityError(MutualisError):
    """The worklist provider refused or could not be reached."""


def worklist_query(ae_title: str, day: date | None, modality: str = "") -> Dataset:
    q = Dataset()
    q.SpecificCharacterSet = "ISO_IR 192"
    for key in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "StudyInstanceUID",
        "RequestedProcedureID",
        "RequestedProcedureDescription",
        "RequestingPhysician",
    ):
        setattr(q, key, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = ae_title
    sps.ScheduledProcedureStepStartDate = day.strftime("%Y%m%d") if day else ""
    sps.ScheduledProcedureStepStartTime = ""
    sps.Modality = modality
    sps.ScheduledProcedureStepID = ""
    sps.ScheduledProcedureStepDescription = ""
    sps.ScheduledStationName = ""
    q.ScheduledProcedureStepSequence = DicomSequence([sps])
    return q


class Modality:
    def __init__(
        self, ae_title: str, host: str, port: int, called: str = "MUTUALIS", pacs_url: str | None = None
    ) -> None:
        self.ae_title, self.host, self.port, self.called, self.pacs_url = ae_title, host, port, called, pacs_url
        self.ae = AE(ae_title=ae_title)
        self.ae.add_requested_context(ModalityWorklistInformationFind)
        self.ae.add_requested_context(ModalityPerformedProcedureStep)

    def _associate(self) -> Association:
        assoc = self.ae.associate(self.host, self.port, ae_title=self.called)
        if not assoc.is_established:
            raise ModalityError(f"association with {self.called}@{self.host}:{self.port} refused or failed")
        return assoc

    def worklist(self, day: date | None) -> list[Dataset]:
        assoc = self._associate()
        try:
            items = []
            for status, identifier in assoc.send_c_find(
                worklist_query(self.ae_title, day), ModalityWorklistInformationFind
            ):
                if status is None or status.Status not in (0xFF00, 0xFF01, 0x0000):
                    code = getattr(status, "Status", None)
                    raise ModalityError(f"worklist query failed (status {code:#06x})" if code else "no answer")
                if identifier is not None and status.Status in (0xFF00, 0xFF01):
                    items.append(identifier)
            return items
        finally:
            assoc.release()

    def start(self, item: Dataset, when: datetime | None = None) -> str:
        """N-CREATE IN PROGRESS for a worklist item; returns the MPPS SOP Instance UID."""
        when = when or datetime.now()
        sps = item.ScheduledProcedureStepSequence[0]
        step = Dataset()
        for key in ("AccessionNumber", "StudyInstanceUID", "RequestedProcedureID", "RequestedProcedureDescription"):
            setattr(step, key, item.get(key, ""))
        step.ScheduledProcedureStepID = sps.get("ScheduledProcedureStepID", "")
        step.ScheduledProcedureStepDescription = sps.get("ScheduledProcedureStepDescription", "")
        attrs = Dataset()
        attrs.SpecificCharacterSet = "ISO_IR 192"
        attrs.ScheduledStepAttributesSequence = DicomSequence([step])
        for key in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
            setattr(attrs, key, item.get(key, ""))
        attrs.PerformedProcedureStepID = f"P{step.ScheduledProcedureStepID}"[:16]
        attrs.PerformedStationAETitle = self.ae_title
        attrs.PerformedProcedureStepStartDate = when.strftime("%Y%m%d")
        attrs.PerformedProcedureStepStartTime = when.strftime("%H%M%S")
        attrs.PerformedProcedureStepStatus = "IN PROGRESS"
        attrs.Modality = sps.get("Modality", "")
        attrs.PerformedSeriesSequence = DicomSequence([])
        uid = str(generate_uid())
        self._n_create(uid, attrs)
        return uid

    def _n_create(self, uid: str, attrs: Dataset) -> None:
        assoc = self._associate()
        try:
            status, _ = assoc.send_n_create(attrs, ModalityPerformedProcedureStep, uid)
        finally:
            assoc.release()
        if status is None or status.Status != 0x0000:
            raise ModalityError(f"MPPS N-CREATE refused (status {getattr(status, 'Status', 0):#06x})")

    def finish(
        self, uid: str, study: Sequence[Dataset], status: str = "COMPLETED", when: datetime | None = None
    ) -> None:
        """N-SET COMPLETED (or DISCONTINUED) with the performed series of ``study``."""
        when = when or datetime.now()
        mod = Dataset()
        mod.SpecificCharacterSet = "ISO_IR 192"
        mod.PerformedProcedureStepStatus = status
        mod.PerformedProcedureStepEndDate = when.strftime("%Y%m%d")
        mod.PerformedProcedureStepEndTime = when.strftime("%H%M%S")
        series: dict[str, Dataset] = {}
        for image in study:
            s = series.get(image.SeriesInstanceUID)
            if s is None:
                s = series[image.SeriesInstanceUID] = Dataset()
                s.SeriesInstanceUID = image.SeriesInstanceUID
                s.SeriesDescription = image.get("SeriesDescription", "")
                s.PerformingPhysicianName = ""
                s.OperatorsName = ""
                s.ProtocolName = image.get("ProtocolName", "")
                s.RetrieveAETitle = ""
                s.ReferencedImageSequence = DicomSequence([])
            ref = Dataset()
            ref.ReferencedSOPClassUID = image.SOPClassUID
            ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
            s.ReferencedImageSequence.append(ref)
        mod.PerformedSeriesSequence = DicomSequence(list(series.values()))
        assoc = self._associate()
        try:
            answer, _ = assoc.send_n_set(mod, ModalityPerformedProcedureStep, uid)
        finally:
            assoc.release()
        if answer is None or answer.Status != 0x0000:
            raise ModalityError(f"MPPS N-SET refused (status {getattr(answer, 'Status', 0):#06x})")

    def acquire(self, item: Dataset) -> list[Dataset]:
        sps = item.ScheduledProcedureStepSequence[0]
        return build_study(
            patient_name=str(item.PatientName),
            patient_id=str(item.PatientID),
            birth_date=str(item.get("PatientBirthDate", "")),
            sex=str(item.get("PatientSex", "")),
            accession_number=str(item.AccessionNumber),
            study_instance_uid=str(item.StudyInstanceUID),
            modality=str(sps.Modality),
            study_description=str(item.get("RequestedProcedureDescription", "")),
            station_name=str(sps.get("ScheduledStationName", "")) or None,
        )

    def perform(self, item: Dataset) -> str:
        uid = self.start(item)
        study = self.acquire(item)
        stored = ""
        if self.pacs_url:
            with DicomWebPacs(self.pacs_url) as pacs:
                result = pacs.store(study)
            stored = f", {len(study)} images stored" if result.ok else ", storing images FAILED"
        self.finish(uid, study)
        return (
            f"{item.AccessionNumber} {item.PatientName} {item.get('RequestedProcedureDescription', '')}: done{stored}"
        )

    def perform_day(self, day: date | None, count: int = 1) -> list[str]:
        return [self.perform(item) for item in self.worklist(day)[:count]]
