"""A site's PACS seen through DICOMweb (PS3.18): QIDO-RS to find studies, STOW-RS to store them.

Every transport or HTTP failure (connection refused, timeout, 5xx, an answer that is not the
DICOM JSON it should be…) becomes :class:`PacsUnavailable` here; httpx never leaks past this
module. A STOW-RS answer in which the PACS *refuses* some or all instances (HTTP 202, or 409 with a
Failed SOP Sequence) is not an outage: it comes back as a :class:`StoreResult` listing the failures.
"""

from __future__ import annotations

import copy
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from mutualis.domain.errors import MutualisError, Problem, ValidationError

DICOM_JSON = "application/dicom+json"

# Tags as DICOM JSON keys (PS3.18 F.2): group+element, upper-case hexadecimal.
_STUDY_DATE = "00080020"
_ACCESSION_NUMBER = "00080050"
_MODALITIES_IN_STUDY = "00080061"
_FAILURE_REASON = "00081197"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_SEQUENCE = "00081199"
_REFERENCED_SOP_INSTANCE_UID = "00081155"
_STUDY_INSTANCE_UID = "0020000D"
_NUMBER_OF_STUDY_RELATED_INSTANCES = "00201208"

_INCLUDE_FIELDS = ("StudyDate", "AccessionNumber", "ModalitiesInStudy", "NumberOfStudyRelatedInstances")
_QIDO_FORBIDDEN = {"*": "a wildcard", "?": "a wildcard", "\\": "a value separator"}


class PacsUnavailable(MutualisError):
    """The PACS could not be reached, or did not answer as a DICOMweb server should."""

    def __init__(self, base_url: str, action: str, reason: str) -> None:
        self.base_url, self.action, self.reason = base_url, action, reason
        super().__init__(f"PACS {base_url} unavailable ({action}): {reason}")


@dataclass(frozen=True)
class PacsStudy:
    """One study as the PACS indexes it (QIDO-RS study level)."""

    study_instance_uid: str
    accession_number: str
    modalities: tuple[str, ...]
    number_of_instances: int | None
    study_date: str | None  # DICOM DA, YYYYMMDD


@dataclass(frozen=True)
class StoreFailure:
    """An instance the PACS refused; `reason` is the DICOM Failure Reason (0008,1197) when given."""

    sop_instance_uid: str
    reason: int | None


@dataclass(frozen=True)
class StoreResult:
    """What the PACS answered to STOW-RS: the SOP Instance UIDs it stored, and those it refused."""

    stored: tuple[str, ...]
    failed: tuple[StoreFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed


class DicomWebPacs:
    """Synchronous DICOMweb client for one PACS; `base_url` is the DICOMweb root (…/dicom-web)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    # --- QIDO-RS ---------------------------------------------------------------------------------

    def studies_for_accession(self, accession_number: str) -> list[PacsStudy]:
        """The studies whose Accession Number is exactly `accession_number` (empty list: none)."""
        _check_accession(accession_number)
        params = [("AccessionNumber", accession_number)] + [("includefield", f) for f in _INCLUDE_FIELDS]
        action = f"QIDO-RS studies?AccessionNumber={accession_number}"
        response = self._send("GET", "/studies", action, params=params, headers={"Accept": DICOM_JSON})
        if response.status_code == 204 or not response.content:
            return []
        answer = _json(response, self.base_url, action)
        if not isinstance(answer, list):
            raise PacsUnavailable(self.base_url, action, "answer is not a JSON array of studies")
        studies = [_study(item, self.base_url, action) for item in answer]
        # QIDO matching is the PACS's business (case, fuzzy matching…): keep exact matches only.
        return [s for s in studies if s.accession_number == accession_number]

    # --- STOW-RS ---------------------------------------------------------------------------------

    def store(self, datasets: Sequence[Dataset]) -> StoreResult:
        """Send `datasets` in one STOW-RS request (Part 10, explicit VR little endian unless a file meta says else)."""
        if not datasets:
            return StoreResult(stored=())
        parts = [part10_bytes(ds) for ds in datasets]
        boundary = _boundary(parts)
        body = b"".join(
            b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n" for part in parts
        )
        body += b"--" + boundary + b"--\r\n"
        headers = {
            "Accept": DICOM_JSON,
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary.decode("ascii")}',
        }
        action = f"STOW-RS of {len(parts)} instance(s)"
        response = self._send("POST", "/studies", action, content=body, headers=headers, refused_ok=True)
        if not response.content:
            if response.status_code == 200:  # no body: every instance stored
                return StoreResult(stored=tuple(str(ds.SOPInstanceUID) for ds in datasets))
            raise PacsUnavailable(self.base_url, action, f"HTTP {response.status_code} without a body")
        answer = _json(response, self.base_url, action)
        if not isinstance(answer, Mapping):
            raise PacsUnavailable(self.base_url, action, "answer is not a DICOM JSON object")
        stored = tuple(
            uid
            for item in _sequence(answer, _REFERENCED_SOP_SEQUENCE)
            if (uid := _string(item, _REFERENCED_SOP_INSTANCE_UID)) is not None
        )
        failed = tuple(
            StoreFailure(_string(item, _REFERENCED_SOP_INSTANCE_UID) or "", _int(item, _FAILURE_REASON))
            for item in _sequence(answer, _FAILED_SOP_SEQUENCE)
        )
        if response.status_code == 409 and not failed:
            raise PacsUnavailable(self.base_url, action, "HTTP 409 without a Failed SOP Sequence")
        return StoreResult(stored=stored, failed=failed)

    # --- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DicomWebPacs({self.base_url!r})"

    def _send(self, method: str, path: str, action: str, *, refused_ok: bool = False, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PacsUnavailable(self.base_url, action, f"{type(exc).__name__}: {exc}") from exc
        accepted = {200, 202, 204} | ({409} if refused_ok else set())
        if response.status_code not in accepted:
            raise PacsUnavailable(self.base_url, action, f"HTTP {response.status_code} {_snippet(response)}".rstrip())
        return response


def part10_bytes(dataset: Dataset) -> bytes:
    """`dataset` as a DICOM Part 10 file (preamble, file meta), explicit VR little endian if no file meta says else.

    The caller's dataset is left as it was: the file meta is completed on a shallow copy.
    """
    meta = FileMetaDataset()
    for element in getattr(dataset, "file_meta", FileMetaDataset()):
        meta.add(copy.deepcopy(element))
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    clone = copy.copy(dataset)
    clone.file_meta = meta
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, clone, enforce_file_format=True)
    return buffer.getvalue()


# --- internals -------------------------------------------------------------------------------------


def _check_accession(accession_number: str) -> None:
    problems = []
    if not accession_number.strip():
        problems.append(Problem("accession_number", "empty (a QIDO query would match every study)"))
    problems += [
        Problem("accession_number", f"contains {what} {char!r}")
        for char, what in _QIDO_FORBIDDEN.items()
        if char in accession_number
    ]
    if len(accession_number) > 16:
        problems.append(Problem("accession_number", "longer than 16 characters (DICOM SH)"))
    if problems:
        raise ValidationError(problems, f"accession number {accession_number!r} refused")


def _boundary(parts: Sequence[bytes]) -> bytes:
    while True:
        boundary = f"mutualis-{uuid.uuid4().hex}".encode("ascii")
        if not any(boundary in part for part in parts):
            return boundary


def _json(response: httpx.Response, base_url: str, action: str) -> object:
    try:
        return response.json()
    except ValueError as exc:
        raise PacsUnavailable(base_url, action, f"answer is not JSON: {_snippet(response)}") from exc


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def _values(item: Mapping[str, Any], tag: str) -> list[Any]:
    element = item.get(tag)
    if not isinstance(element, Mapping):
        return []
    values = element.get("Value")
    return values if isinstance(values, list) else []


def _string(item: Mapping[str, Any], tag: str) -> str | None:
    values = _values(item, tag)
    return str(values[0]) if values and values[0] is not None else None


def _int(item: Mapping[str, Any], tag: str) -> int | None:
    value = _string(item, tag)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _sequence(item: Mapping[str, Any], tag: str) -> list[Mapping[str, Any]]:
    return [v for v in _values(item, tag) if isinstance(v, Mapping)]


def _study(item: object, base_url: str, action: str) -> PacsStudy:
    if not isinstance(item, Mapping):
        raise PacsUnavailable(base_url, action, "a study in the answer is not a DICOM JSON object")
    uid = _string(item, _STUDY_INSTANCE_UID)
    if uid is None:
        raise PacsUnavailable(base_url, action, "a study in the answer has no Study Instance UID")
    return PacsStudy(
        study_instance_uid=uid,
        accession_number=_string(item, _ACCESSION_NUMBER) or "",
        modalities=tuple(str(v) for v in _values(item, _MODALITIES_IN_STUDY) if v),
        number_of_instances=_int(item, _NUMBER_OF_STUDY_RELATED_INSTANCES),
        study_date=_string(item, _STUDY_DATE),
    )
