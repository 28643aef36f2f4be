"""IHE Scheduled Workflow end to end, with real peers: book → the modality pulls its worklist →
MPPS in progress → a synthetic study stored in a real Orthanc (DICOMweb) → MPPS completed →
Mutualis finds the images by QIDO-RS and marks the exam ready for reading."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, date, datetime

from mutualis.adapters.dicom.pacs import DicomWebPacs
from mutualis.adapters.dicom.scp import DicomService
from mutualis.adapters.dicom.simulator import Modality
from mutualis.bootstrap import Container
from mutualis.domain.orders import OrderStatus, Patient, Sex
from mutualis.domain.territory import Commune, Territory
from mutualis.services.dicom import check_pacs
from tests.support.orthanc import start_orthanc
from tests.support.scenario import booked_mri


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_book_worklist_mpps_pacs_ready(container: Container, mini: Territory, communes: dict[str, Commune]) -> None:
    with start_orthanc() as orthanc:
        territory = replace(mini, sites=tuple(replace(s, pacs_url=orthanc.dicomweb_url) if s.id == "rodez" else s
                                              for s in mini.sites))
        now = datetime.now(UTC)
        order, start = booked_mri(container, territory, communes, Patient(
            "1580512202045", "Lefèvre", "Jérôme", date(1958, 5, 2), Sex.MALE, "12202"))

        port = _free_port()
        server = DicomService(container, "MUTUALIS").start("127.0.0.1", port)
        try:
            modality = Modality("MINI_MR1", "127.0.0.1", port, pacs_url=orthanc.dicomweb_url)
            (line,) = modality.perform_day(start.date(), 1)
        finally:
            assert server is not None
            server.shutdown()
        assert "images stored" in line and "LEFÈVRE^Jérôme" in line

        with container.uow() as uow:
            stored = uow.orders.get(order.id or 0)
            assert stored is not None and stored.status is OrderStatus.ACQUIRED
            assert uow.worklist.images_available_at(order.id or 0) is None
        studies = DicomWebPacs(orthanc.dicomweb_url).studies_for_accession(order.accession_number or "")
        assert len(studies) == 1 and studies[0].study_instance_uid.startswith("2.25.")

        assert check_pacs(container.uow(), "mini", DicomWebPacs, now=now) == [order.id]
        with container.uow() as uow:
            assert uow.worklist.images_available_at(order.id or 0) is not None
        assert check_pacs(container.uow(), "mini", DicomWebPacs, now=now) == []  # once is enough
