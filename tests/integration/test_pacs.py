"""The DICOMweb PACS client against a real Orthanc (tests/support/orthanc.py), plus DCMTK's storescu."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid

from mutualis.adapters.dicom.pacs import DicomWebPacs, PacsStudy, PacsUnavailable, StoreResult, part10_bytes
from mutualis.adapters.dicom.synthetic import build_study
from mutualis.domain.errors import ValidationError
from tests.support.dcmtk import dcmtk
from tests.support.orthanc import OrthancServer, orthanc_env, start_orthanc

MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"  # Modality Worklist Information Model – FIND


@pytest.fixture(scope="module")
def orthanc() -> Iterator[OrthancServer]:
    with start_orthanc(aet="PACSTEST") as server:
        yield server


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[DicomWebPacs]:
    with DicomWebPacs(orthanc.dicomweb_url) as client:
        yield client


def new_accession() -> str:
    return f"T{uuid.uuid4().hex[:12].upper()}"


def a_study(accession: str, modality: str = "MR", series: int = 2, per_series: int = 2) -> list[Dataset]:
    return build_study(
        patient_name="DUPRÉ^Hélène",
        patient_id="IPP-42",
        birth_date="19580214",
        sex="F",
        accession_number=accession,
        study_instance_uid=generate_uid(),
        modality=modality,
        study_description="IRM genou gauche",
        station_name="IRM-RODEZ",
        institution="CH de Rodez",
        series=series,
        instances_per_series=per_series,
    )


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_the_fixture_runs_orthanc_on_loopback_with_dicomweb(orthanc: OrthancServer) -> None:
    system = httpx.get(f"{orthanc.http_url}/system", timeout=5).json()
    assert system["DicomAet"] == "PACSTEST" == orthanc.aet
    assert system["DicomPort"] == orthanc.dicom_port
    assert "dicom-web" in httpx.get(f"{orthanc.http_url}/plugins", timeout=5).json()
    assert orthanc.dicomweb_url == f"http://127.0.0.1:{orthanc.http_port}/dicom-web"


def test_a_study_stored_by_stow_is_found_by_accession(orthanc: OrthancServer, pacs: DicomWebPacs) -> None:
    accession = new_accession()
    datasets = a_study(accession, "MR", series=2, per_series=2)

    result = pacs.store(datasets)

    assert isinstance(result, StoreResult)
    assert result.ok
    assert set(result.stored) == {ds.SOPInstanceUID for ds in datasets}
    assert pacs.studies_for_accession(accession) == [
        PacsStudy(
            study_instance_uid=datasets[0].StudyInstanceUID,
            accession_number=accession,
            modalities=("MR",),
            number_of_instances=4,
            study_date=datasets[0].StudyDate,
        )
    ]
    # the accents went through STOW-RS and Orthanc intact
    answer = httpx.get(
        f"{orthanc.dicomweb_url}/studies",
        params={"AccessionNumber": accession, "includefield": "PatientName"},
        headers={"Accept": "application/dicom+json"},
        timeout=5,
    ).json()
    assert answer[0]["00100010"]["Value"][0]["Alphabetic"] == "DUPRÉ^Hélène"


def test_storing_the_same_instances_again_is_harmless(pacs: DicomWebPacs) -> None:
    accession = new_accession()
    datasets = a_study(accession, "CT", series=1, per_series=1)
    assert pacs.store(datasets).ok
    again = pacs.store(datasets)
    assert again.ok
    assert again.stored == (datasets[0].SOPInstanceUID,)
    [found] = pacs.studies_for_accession(accession)
    assert found.number_of_instances == 1


def test_an_unknown_accession_finds_nothing(pacs: DicomWebPacs) -> None:
    assert pacs.studies_for_accession(new_accession()) == []
    assert pacs.store([]) == StoreResult(stored=())


@pytest.mark.parametrize("accession", ["", "  ", "ACC*", "AC?C", "A\\B", "X" * 17])
def test_an_accession_that_would_match_by_wildcard_is_refused(pacs: DicomWebPacs, accession: str) -> None:
    with pytest.raises(ValidationError, match="accession_number"):
        pacs.studies_for_accession(accession)


def test_an_unreachable_pacs_raises_pacs_unavailable() -> None:
    url = f"http://127.0.0.1:{closed_port()}/dicom-web"
    with DicomWebPacs(url, timeout=2.0) as pacs:
        with pytest.raises(PacsUnavailable, match=r"unavailable \(QIDO-RS") as caught:
            pacs.studies_for_accession("ACC-1")
        assert caught.value.base_url == url
        assert "ConnectError" in caught.value.reason
        with pytest.raises(PacsUnavailable, match=r"unavailable \(STOW-RS of 2 instance"):
            pacs.store(a_study("ACC-1", series=1, per_series=2))


def test_an_http_error_raises_pacs_unavailable(orthanc: OrthancServer) -> None:
    with DicomWebPacs(f"{orthanc.http_url}/not-dicom-web") as pacs:
        with pytest.raises(PacsUnavailable, match="HTTP 404"):
            pacs.studies_for_accession("ACC-1")
        with pytest.raises(PacsUnavailable, match="HTTP 404"):
            pacs.store(a_study("ACC-1", series=1, per_series=1))
    # a server that answers, but not DICOM JSON (Orthanc's /system is a plain JSON object)
    with DicomWebPacs(f"{orthanc.http_url}/system") as pacs, pytest.raises(PacsUnavailable):
        pacs.studies_for_accession("ACC-1")


def test_a_study_sent_by_c_store_with_storescu_is_found_by_qido(
    orthanc: OrthancServer, pacs: DicomWebPacs, tmp_path: Path
) -> None:
    storescu = dcmtk("storescu")
    accession = new_accession()
    datasets = a_study(accession, "CT", series=1, per_series=3)
    files = []
    for n, ds in enumerate(datasets):
        path = tmp_path / f"ct{n}.dcm"
        path.write_bytes(part10_bytes(ds))
        files.append(str(path))

    run = subprocess.run(
        [storescu, "-aet", "MODALITY1", "-aec", orthanc.aet, "127.0.0.1", str(orthanc.dicom_port), *files],
        env=orthanc_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "E:" not in run.stdout + run.stderr, run.stdout + run.stderr
    [found] = pacs.studies_for_accession(accession)
    assert found.study_instance_uid == datasets[0].StudyInstanceUID
    assert found.modalities == ("CT",)
    assert found.number_of_instances == 3


def test_the_worklists_plugin_serves_a_folder(tmp_path: Path) -> None:
    findscu = dcmtk("findscu")
    worklists = tmp_path / "worklists"
    worklists.mkdir()
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 192"
    item.PatientName = "DUPRÉ^Hélène"
    item.PatientID = "IPP-42"
    item.AccessionNumber = "WL-0001"
    step = Dataset()
    step.Modality = "MR"
    step.ScheduledStationAETitle = "IRM1"
    step.ScheduledProcedureStepStartDate = "20250304"
    item.ScheduledProcedureStepSequence = [step]
    item.file_meta = FileMetaDataset()
    item.file_meta.MediaStorageSOPClassUID = MODALITY_WORKLIST_FIND
    item.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    (worklists / "wl-0001.wl").write_bytes(part10_bytes(item))
    answers = tmp_path / "answers"
    answers.mkdir()

    with start_orthanc(worklists_dir=worklists, aet="WLTEST") as server:
        assert "worklists" in httpx.get(f"{server.http_url}/plugins", timeout=5).json()
        run = subprocess.run(
            [
                findscu, "-W", "-aet", "IRM1", "-aec", server.aet, "-X", "-od", str(answers),
                "-k", "SpecificCharacterSet=ISO_IR 192", "-k", "PatientName", "-k", "AccessionNumber",
                "-k", "ScheduledProcedureStepSequence[0].Modality=MR",
                "127.0.0.1", str(server.dicom_port),
            ],
            env=orthanc_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    [answer] = [pydicom.dcmread(path) for path in answers.glob("rsp*.dcm")]
    assert answer.AccessionNumber == "WL-0001"
    assert str(answer.PatientName) == "DUPRÉ^Hélène"
