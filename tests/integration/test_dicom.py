"""The worklist and MPPS provider against real peers: dcmtk's findscu, and pynetdicom as the
modality (the simulator). On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pydicom
import pytest

from mutualis.adapters.dicom.scp import DicomService
from mutualis.adapters.dicom.simulator import Modality, ModalityError
from mutualis.bootstrap import Container
from mutualis.domain.orders import Order, OrderStatus, Patient, Sex
from mutualis.domain.territory import Commune, Territory
from mutualis.services import booking
from tests.support.dcmtk import dcmtk
from tests.support.scenario import AGENT, booked_mri


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    container: Container
    port: int
    order: Order
    day: date
    start: datetime  # local


@pytest.fixture
def world(container: Container, mini: Territory, communes: dict[str, Commune]) -> Iterator[World]:
    order, start = booked_mri(container, mini, communes, Patient(
        "2610312096123", "Dupré", "Hélène", date(1961, 3, 14), Sex.FEMALE, "12096"))
    service = DicomService(container, "MUTUALIS")
    port = _free_port()
    server = service.start("127.0.0.1", port)
    try:
        yield World(container, port, order, start.date(), start)
    finally:
        assert server is not None
        server.shutdown()


def findscu(port: int, out: Path, *keys: str, aet: str = "MINI_MR1",
            options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    out.mkdir(exist_ok=True)
    args = [dcmtk("findscu"), "-W", "-aet", aet, "-aec", "MUTUALIS", "-X", "-od", str(out), *options]
    for k in keys:
        args += ["-k", k]
    return subprocess.run([*args, "127.0.0.1", str(port)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TCP_NODELAY": "1"})


def _answers(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.glob("rsp*.dcm"))]


COMMON = ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyInstanceUID",
          "RequestedProcedureDescription", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
          "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
          "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
          "ScheduledProcedureStepSequence[0].ScheduledStationName")


def test_findscu_by_modality_and_date_with_accents(world: World, tmp_path: Path) -> None:
    d = world.day.strftime("%Y%m%d")
    r = findscu(world.port, tmp_path / "a", "SpecificCharacterSet=ISO_IR 192", *COMMON,
                "ScheduledProcedureStepSequence[0].Modality=MR",
                f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={d}-{d}")
    assert r.returncode == 0, r.stdout + r.stderr
    (item,) = _answers(tmp_path / "a")
    assert str(item.PatientName) == "DUPRÉ^Hélène"
    assert item.AccessionNumber == world.order.accession_number
    assert item.StudyInstanceUID.startswith("2.25.")
    sps = item.ScheduledProcedureStepSequence[0]
    assert sps.ScheduledStationAETitle == "MINI_MR1" and sps.ScheduledStationName == "MINIMR1"
    assert sps.ScheduledProcedureStepStartTime == world.start.strftime("%H%M%S")
    # other modality, other days: nothing
    r = findscu(world.port, tmp_path / "b", *COMMON, "ScheduledProcedureStepSequence[0].Modality=CT")
    assert r.returncode == 0 and _answers(tmp_path / "b") == []
    nd = (world.day + timedelta(days=1)).strftime("%Y%m%d")
    r = findscu(world.port, tmp_path / "c", *COMMON,
                f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={nd}-")
    assert _answers(tmp_path / "c") == []
    # wildcard on the name, case-insensitive for PN
    r = findscu(world.port, tmp_path / "d", *COMMON, "PatientName=dup*")
    assert len(_answers(tmp_path / "d")) == 1


def test_latin1_modality_gets_latin1(world: World, tmp_path: Path) -> None:
    r = findscu(world.port, tmp_path / "l", "SpecificCharacterSet=ISO_IR 100", "PatientName")
    assert r.returncode == 0, r.stderr
    (item,) = _answers(tmp_path / "l")
    assert item.SpecificCharacterSet == "ISO_IR 100" and str(item.PatientName) == "DUPRÉ^Hélène"
    raw = (tmp_path / "l").glob("rsp*.dcm").__next__().read_bytes()
    assert "DUPRÉ".encode("latin-1") in raw


@pytest.mark.parametrize("syntax", ["-xi", "-xe", "-xb"])  # -xb proposes big endian first: we take explicit LE
def test_every_transfer_syntax_gets_the_same_answer(world: World, tmp_path: Path, syntax: str) -> None:
    r = findscu(world.port, tmp_path / "t", "SpecificCharacterSet=ISO_IR 192", *COMMON, options=(syntax,))
    assert r.returncode == 0, r.stdout + r.stderr
    (item,) = _answers(tmp_path / "t")
    assert str(item.PatientName) == "DUPRÉ^Hélène" and item.AccessionNumber == world.order.accession_number
    assert item.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "MINI_MR1"


def test_unknown_calling_ae_is_refused(world: World, tmp_path: Path) -> None:
    r = findscu(world.port, tmp_path / "u", "PatientName", aet="INTRUDER")
    assert r.returncode != 0
    assert "reject" in (r.stdout + r.stderr).lower()
    assert _answers(tmp_path / "u") == []


def test_move_and_cancel_are_seen_by_the_next_query(world: World, tmp_path: Path,
                                                    communes: dict[str, Commune]) -> None:
    now = datetime.now(UTC)
    _, _, slots = booking.find_slots(world.container.uow(), AGENT, world.order.id or 0, communes, count=5,
                                     address=None, now=now)
    new = next(s for s in slots if s.start.date() != world.day)
    booking.move(world.container.uow(), AGENT, world.order.id or 0, "rodez-irm", new.start, communes,
                 address=None, now=now)
    assert findscu(world.port, tmp_path / "m", *COMMON).returncode == 0
    (item,) = _answers(tmp_path / "m")  # one item: the old slot went with the move
    sps = item.ScheduledProcedureStepSequence[0]
    assert sps.ScheduledProcedureStepStartTime == new.start.strftime("%H%M%S")
    booking.cancel_appointment(world.container.uow(), AGENT, world.order.id or 0, address=None, now=now)
    findscu(world.port, tmp_path / "n", *COMMON)
    assert _answers(tmp_path / "n") == []


def test_mpps_drives_the_lifecycle(world: World) -> None:
    sim = Modality("MINI_MR1", "127.0.0.1", world.port)
    (item,) = sim.worklist(world.day)
    uid = sim.start(item)
    order = _order(world)
    assert order.status is OrderStatus.IN_PROGRESS
    with pytest.raises(ModalityError, match="0x0111"):  # duplicate SOP instance
        sim._n_create(uid, _attrs_of(sim, item))
    with pytest.raises(ModalityError, match="0x0112"):  # no such SOP instance
        sim.finish("1.2.3.4.5", [])
    study = sim.acquire(item)
    sim.finish(uid, study)
    assert _order(world).status is OrderStatus.ACQUIRED
    with world.container.uow() as uow:
        (m,) = uow.mpps.for_order(world.order.id or 0)
    assert m.status.value == "COMPLETED" and m.series[0].series_instance_uid == study[0].SeriesInstanceUID
    with pytest.raises(ModalityError, match="0x0110"):  # may no longer be updated
        sim.finish(uid, study, status="DISCONTINUED")
    assert _order(world).status is OrderStatus.ACQUIRED


def test_unknown_sop_class_and_bad_mpps(world: World) -> None:
    from pynetdicom import AE
    from pynetdicom.sop_class import PatientRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

    ae = AE(ae_title="MINI_MR1")
    ae.add_requested_context(PatientRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", world.port, ae_title="MUTUALIS")
    assert not assoc.is_established or not assoc.accepted_contexts  # not offered: nothing to talk about
    if assoc.is_established:
        assoc.release()
    sim = Modality("MINI_MR1", "127.0.0.1", world.port)
    (item,) = sim.worklist(world.day)
    attrs = _attrs_of(sim, item)
    attrs.PerformedProcedureStepStatus = "COMPLETED"
    with pytest.raises(ModalityError, match="0x0106"):  # must start IN PROGRESS
        sim._n_create("1.2.826.0.1.3680043.99.1", attrs)
    assert _order(world).status is OrderStatus.SCHEDULED  # nothing changed
    assert len(sim.worklist(world.day)) == 1  # and the service keeps serving


def _order(world: World) -> Order:
    with world.container.uow() as uow:
        o = uow.orders.get(world.order.id or 0)
    assert o is not None
    return o


def _attrs_of(sim: Modality, item: pydicom.Dataset) -> pydicom.Dataset:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    step = Dataset()
    step.AccessionNumber = item.AccessionNumber
    step.StudyInstanceUID = item.StudyInstanceUID
    attrs = Dataset()
    attrs.ScheduledStepAttributesSequence = Sequence([step])
    attrs.PerformedProcedureStepStatus = "IN PROGRESS"
    attrs.PerformedStationAETitle = sim.ae_title
    return attrs


def test_garbage_dropped_associations_and_wrong_called_ae(world: World, tmp_path: Path) -> None:
    with socket.create_connection(("127.0.0.1", world.port), timeout=5) as raw:  # not DICOM at all
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
    from pynetdicom import AE
    from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

    ae = AE(ae_title="MINI_MR1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", world.port, ae_title="MUTUALIS")
    assert assoc.is_established
    assoc.abort()  # dropped in the middle
    wrong = ae.associate("127.0.0.1", world.port, ae_title="NOT_US")
    assert wrong.is_rejected
    r = findscu(world.port, tmp_path / "after", *COMMON)  # and the service keeps serving
    assert r.returncode == 0 and len(_answers(tmp_path / "after")) == 1
