"""Synthetic DICOM studies: valid Part 10 files, the right SOP class, accents kept."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

from mutualis.adapters.dicom.pacs import part10_bytes
from mutualis.adapters.dicom.synthetic import build_study, sop_class_for


def study(**overrides: Any) -> list[Dataset]:
    args: dict[str, Any] = {
        "patient_name": "DUPRÉ^Hélène",
        "patient_id": "IPP-000123",
        "birth_date": "19580214",
        "sex": "F",
        "accession_number": "ACC-0001",
        "study_instance_uid": generate_uid(),
        "modality": "MR",
        "study_description": "IRM genou gauche",
        "station_name": "IRM-CHU-1",
        "institution": "CH de Rodez — Hôpital Jacques Puel",
        "when": datetime(2025, 3, 4, 9, 30, 15),
    }
    args.update(overrides)
    return build_study(**args)


def round_trip(ds: Dataset) -> pydicom.FileDataset:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    raw = buffer.getvalue()
    assert raw[128:132] == b"DICM"
    return pydicom.dcmread(io.BytesIO(raw))


@pytest.mark.parametrize(
    ("modality", "sop_class", "bits"),
    [
        ("MR", MRImageStorage, 16),
        ("CT", CTImageStorage, 16),
        ("DX", DigitalXRayImageStorageForPresentation, 16),
        ("CR", ComputedRadiographyImageStorage, 16),
        ("MG", DigitalMammographyXRayImageStorageForPresentation, 16),
        ("US", UltrasoundImageStorage, 8),
        ("OT", SecondaryCaptureImageStorage, 16),
        ("xa", SecondaryCaptureImageStorage, 16),
    ],
)
def test_each_modality_gets_its_sop_class_and_valid_pixels(modality: str, sop_class: str, bits: int) -> None:
    assert sop_class_for(modality) == sop_class
    datasets = study(modality=modality)
    assert len(datasets) == 2
    for ds in datasets:
        back = round_trip(ds)
        assert back.SOPClassUID == sop_class
        assert back.file_meta.MediaStorageSOPClassUID == sop_class
        assert back.file_meta.MediaStorageSOPInstanceUID == back.SOPInstanceUID
        assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert back.Modality == modality.upper()
        assert back.PhotometricInterpretation == "MONOCHROME2"
        assert (back.Rows, back.Columns, back.SamplesPerPixel) == (64, 64, 1)
        assert back.BitsAllocated == bits
        assert len(back.PixelData) == 64 * 64 * bits // 8
    # the images differ from one instance to the next
    assert datasets[0].PixelData != datasets[1].PixelData


def test_accents_survive_a_round_trip_in_utf8() -> None:
    ds = study()[0]
    raw = part10_bytes(ds)
    assert "DUPRÉ^Hélène".encode() in raw  # stored as UTF-8, not Latin-1
    back = pydicom.dcmread(io.BytesIO(raw))
    assert back.SpecificCharacterSet == "ISO_IR 192"
    assert str(back.PatientName) == "DUPRÉ^Hélène"
    assert back.PatientName.family_name == "DUPRÉ"
    assert back.PatientName.given_name == "Hélène"
    assert back.InstitutionName == "CH de Rodez — Hôpital Jacques Puel"
    assert back.StudyDescription == "IRM genou gauche"


def test_attributes_come_from_the_arguments() -> None:
    uid = generate_uid()
    datasets = study(study_instance_uid=uid, birth_date="1958-02-14", sex="F", when=datetime(2025, 3, 4, 9, 30, 15))
    back = round_trip(datasets[0])
    assert back.PatientID == "IPP-000123"
    assert back.PatientBirthDate == "19580214"
    assert back.PatientSex == "F"
    assert back.AccessionNumber == "ACC-0001"
    assert back.StudyInstanceUID == uid
    assert (back.StudyDate, back.StudyTime) == ("20250304", "093015")
    assert back.StationName == "IRM-CHU-1"
    assert "TimezoneOffsetFromUTC" not in back


def test_birth_date_and_sex_may_be_unknown() -> None:
    back = round_trip(study(birth_date="", sex="")[0])
    assert (back.PatientBirthDate, back.PatientSex) == ("", "")


def test_an_aware_datetime_records_its_offset() -> None:
    paris = timezone(timedelta(hours=1))
    back = round_trip(study(when=datetime(2025, 1, 2, 8, 0, tzinfo=paris))[0])
    assert (back.StudyDate, back.StudyTime, back.TimezoneOffsetFromUTC) == ("20250102", "080000", "+0100")
    assert "StationName" not in round_trip(study(station_name=None, when=datetime.now(UTC))[0])


def test_uids_are_new_and_the_study_uid_is_shared() -> None:
    uid = generate_uid()
    datasets = study(study_instance_uid=uid, series=3, instances_per_series=4)
    assert len(datasets) == 12
    assert {ds.StudyInstanceUID for ds in datasets} == {uid}
    sop_uids = [ds.SOPInstanceUID for ds in datasets]
    assert len(set(sop_uids)) == 12
    series_uids = [ds.SeriesInstanceUID for ds in datasets]
    assert len(set(series_uids)) == 3
    assert uid not in set(sop_uids) | set(series_uids)
    assert sorted({(ds.SeriesNumber, ds.InstanceNumber) for ds in datasets}) == [
        (s, i) for s in (1, 2, 3) for i in (1, 2, 3, 4)
    ]
    # a second call for the same study makes new series and instances
    again = study(study_instance_uid=uid)
    assert not {ds.SOPInstanceUID for ds in again} & set(sop_uids)
    assert not {ds.SeriesInstanceUID for ds in again} & set(series_uids)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"birth_date": "14/02/1958"}, "birth_date"),
        ({"sex": "X"}, "sex"),
        ({"study_instance_uid": "not-a-uid"}, "study_instance_uid"),
        ({"accession_number": "A" * 17}, "accession_number"),
        ({"accession_number": ""}, "accession_number"),
        ({"series": 0}, "series"),
    ],
)
def test_bad_arguments_are_refused(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        study(**override)


def test_part10_bytes_completes_a_bare_dataset_without_touching_it() -> None:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "MARTIN^Léa"
    ds.SpecificCharacterSet = "ISO_IR 192"
    back = pydicom.dcmread(io.BytesIO(part10_bytes(ds)))
    assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert back.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert str(back.PatientName) == "MARTIN^Léa"
    assert not hasattr(ds, "file_meta")
