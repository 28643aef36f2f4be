"""Small synthetic DICOM studies, made with pydicom and the standard library only.

For tests and demonstrations: no pixel comes from outside. Each instance is a 64×64
MONOCHROME2 gradient (12 bits stored in 16, or 8 bits for ultrasound), in the SOP class that
fits the modality, encoded in UTF-8 (``ISO_IR 192``) so French names keep their accents.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    RE_VALID_UID,
    UID,
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

ROWS = COLUMNS = 64
MANUFACTURER = "Mutualis (synthetic)"
CHARACTER_SET = "ISO_IR 192"  # UTF-8

SOP_CLASSES: dict[str, UID] = {
    "MR": MRImageStorage,
    "CT": CTImageStorage,
    "DX": DigitalXRayImageStorageForPresentation,
    # CR gets its own IOD: the DX Series module allows Modality "DX" only.
    "CR": ComputedRadiographyImageStorage,
    "US": UltrasoundImageStorage,
    "MG": DigitalMammographyXRayImageStorageForPresentation,
}
"""SOP class per modality; any other modality is stored as Secondary Capture."""

_DA = re.compile(r"\d{8}")
_SEXES = ("M", "F", "O", "")
# DICOM value lengths (PS3.5 6.2): SH 16, LO 64, CS 16.
_MAX_LENGTHS = {
    "patient_id": 64,
    "accession_number": 16,
    "study_description": 64,
    "station_name": 16,
    "institution": 64,
    "modality": 16,
}


def sop_class_for(modality: str) -> UID:
    """The storage SOP class `build_study` uses for `modality` (Secondary Capture when unknown)."""
    return SOP_CLASSES.get(modality.strip().upper(), SecondaryCaptureImageStorage)


def build_study(
    *,
    patient_name: str,
    patient_id: str,
    birth_date: str,
    sex: str,
    accession_number: str,
    study_instance_uid: str,
    modality: str,
    study_description: str,
    station_name: str | None = None,
    series: int = 1,
    instances_per_series: int = 2,
    when: datetime | None = None,
    institution: str | None = None,
) -> list[Dataset]:
    """`series` × `instances_per_series` instances of one study, each with its file meta (explicit VR LE).

    `patient_name` is a DICOM PN (``"DUPRÉ^Hélène"``), `birth_date` a DA (``YYYYMMDD``; dashes
    are dropped; empty when unknown), `sex` one of M, F, O or empty. Series and SOP instance UIDs are new on each call;
    the study UID is `study_instance_uid` for all. `when` (default: now) dates the study.
    """
    modality = modality.strip().upper()
    birth_date = birth_date.replace("-", "")
    _check(
        patient_id=patient_id,
        birth_date=birth_date,
        sex=sex,
        accession_number=accession_number,
        study_instance_uid=study_instance_uid,
        modality=modality,
        study_description=study_description,
        station_name=station_name,
        institution=institution,
        series=series,
        instances_per_series=instances_per_series,
    )
    when = when or datetime.now()
    sop_class = sop_class_for(modality)
    datasets = []
    for series_number in range(1, series + 1):
        series_uid = generate_uid()
        frame_of_reference_uid = generate_uid()
        for instance_number in range(1, instances_per_series + 1):
            ds = _base(
                sop_class=sop_class,
                patient_name=patient_name,
                patient_id=patient_id,
                birth_date=birth_date,
                sex=sex,
                accession_number=accession_number,
                study_instance_uid=study_instance_uid,
                modality=modality,
                study_description=study_description,
                station_name=station_name,
                institution=institution,
                when=when,
            )
            ds.SeriesInstanceUID = series_uid
            ds.SeriesNumber = series_number
            ds.SeriesDescription = f"{modality} {series_number}"
            ds.InstanceNumber = instance_number
            _modality_attributes(ds, sop_class, instance_number, frame_of_reference_uid)
            _pixels(ds, sop_class, series_number * 100 + instance_number)
            datasets.append(ds)
    return datasets


# --- internals -------------------------------------------------------------------------------------


def _check(
    *,
    birth_date: str,
    sex: str,
    study_instance_uid: str,
    series: int,
    instances_per_series: int,
    **texts: str | None,
) -> None:
    problems = []
    if birth_date and not _DA.fullmatch(birth_date):
        problems.append(f"birth_date {birth_date!r} is not a DICOM date YYYYMMDD (or empty)")
    if sex not in _SEXES:
        problems.append(f"sex {sex!r} is not one of M, F, O or empty")
    if len(study_instance_uid) > 64 or not RE_VALID_UID.match(study_instance_uid):
        problems.append(f"study_instance_uid {study_instance_uid!r} is not a valid DICOM UID")
    if series < 1 or instances_per_series < 1:
        problems.append("series and instances_per_series must be at least 1")
    for name in ("patient_id", "accession_number", "modality"):
        if not (texts.get(name) or "").strip():
            problems.append(f"{name} is empty")
    for name, value in texts.items():
        limit = _MAX_LENGTHS.get(name)
        if value is not None and limit is not None and len(value) > limit:
            problems.append(f"{name} is longer than {limit} characters")
    if problems:
        raise ValueError("cannot build a synthetic study: " + "; ".join(problems))


def _base(
    *,
    sop_class: UID,
    patient_name: str,
    patient_id: str,
    birth_date: str,
    sex: str,
    accession_number: str,
    study_instance_uid: str,
    modality: str,
    study_description: str,
    station_name: str | None,
    institution: str | None,
    when: datetime,
) -> Dataset:
    sop_instance_uid = generate_uid()
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S")

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    # SOP Common
    ds.SpecificCharacterSet = CHARACTER_SET
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    if when.utcoffset() is not None:
        ds.TimezoneOffsetFromUTC = when.strftime("%z")
    # Patient
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    # General Study
    ds.StudyInstanceUID = study_instance_uid
    ds.StudyDate, ds.StudyTime = date, time
    ds.AccessionNumber = accession_number
    ds.StudyID = accession_number
    ds.StudyDescription = study_description
    ds.ReferringPhysicianName = ""
    # General Series
    ds.Modality = modality
    ds.SeriesDate, ds.SeriesTime = date, time
    # General Equipment
    ds.Manufacturer = MANUFACTURER
    if station_name is not None:
        ds.StationName = station_name
    if institution is not None:
        ds.InstitutionName = institution
    # General Image
    ds.ContentDate, ds.ContentTime = date, time
    ds.AcquisitionDate, ds.AcquisitionTime = date, time
    ds.PatientOrientation = ""
    return ds


def _modality_attributes(ds: Dataset, sop_class: UID, instance_number: int, frame_of_reference_uid: str) -> None:
    if sop_class in (CTImageStorage, MRImageStorage):
        # Frame of Reference + Image Plane: axial slices 5 mm apart.
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.PositionReferenceIndicator = ""
        ds.PixelSpacing = [1.0, 1.0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-32.0, -32.0, 5.0 * (instance_number - 1)]
        ds.SliceThickness = 5.0
        ds.SliceLocation = 5.0 * (instance_number - 1)
        ds.AcquisitionNumber = 1
    if sop_class == CTImageStorage:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.KVP = 120
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
    elif sop_class == MRImageStorage:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = 500
        ds.EchoTime = 15
        ds.EchoTrainLength = 1
        ds.MagneticFieldStrength = 1.5
    elif sop_class in (DigitalXRayImageStorageForPresentation, DigitalMammographyXRayImageStorageForPresentation):
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PixelIntensityRelationship = "LOG"
        ds.PixelIntensityRelationshipSign = 1
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "US"
        ds.PresentationLUTShape = "IDENTITY"
        ds.BurnedInAnnotation = "NO"
        ds.ImagerPixelSpacing = [0.1, 0.1]
        ds.DetectorType = "DIRECT"
        if sop_class == DigitalMammographyXRayImageStorageForPresentation:
            ds.ImageLaterality = "L" if instance_number % 2 else "R"
            ds.Laterality = ds.ImageLaterality
            ds.ViewPosition = "CC"
            ds.BodyPartExamined = "BREAST"
            ds.PatientOrientation = ["A", "R"] if instance_number % 2 else ["P", "L"]
        else:
            ds.ViewPosition = "PA"
            ds.PatientOrientation = ["L", "F"]
    elif sop_class == ComputedRadiographyImageStorage:
        ds.ViewPosition = "PA"
        ds.PatientOrientation = ["L", "F"]
    elif sop_class == UltrasoundImageStorage:
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
    elif sop_class == SecondaryCaptureImageStorage:
        ds.ConversionType = "WSD"  # workstation
    ds.LossyImageCompression = "00"


def _pixels(ds: Dataset, sop_class: UID, seed: int) -> None:
    """A diagonal gradient, shifted by `seed` so no two instances of a study look alike."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.PixelRepresentation = 0
    if sop_class == UltrasoundImageStorage:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        data = bytes((2 * (x + y) + seed) % 256 for y in range(ROWS) for x in range(COLUMNS))
        ds.add_new(0x7FE00010, "OB", data)
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        values = [(32 * (x + y) + 7 * seed) % 4096 for y in range(ROWS) for x in range(COLUMNS)]
        ds.add_new(0x7FE00010, "OW", struct.pack(f"<{len(values)}H", *values))
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
