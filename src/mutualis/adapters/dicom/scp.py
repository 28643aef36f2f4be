"""The DICOM service of Mutualis: Verification, Modality Worklist FIND and Modality Performed
Procedure Step, over our own acceptor (:mod:`.acceptor`). Datasets are converted to plain values
at this edge; every exception becomes a DIMSE status here, in one place (:func:`dimse_status`),
with a log line.

Associations: the called AE title must be ours, and the calling AE title must be the AE title
of a machine of a territory (read from the database, refreshed every few seconds).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from mutualis.adapters.dicom.acceptor import Refusal, Server
from mutualis.bootstrap import Container
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied, ValidationError
from mutualis.engines import mwl
from mutualis.services import dicom

log = logging.getLogger("mutualis.dicom")
CHARSETS = ("ISO_IR 192", "ISO_IR 100")  # UTF-8, and Latin-1 for the modalities that ask for it


def to_item(ds: Dataset) -> dict[str, Any]:
    """A dataset as plain values (strings, lists of mappings for sequences)."""
    out: dict[str, Any] = {}
    for elem in ds:
        if not elem.keyword or elem.keyword == "SpecificCharacterSet":
            continue
        if elem.VR == "SQ":
            out[elem.keyword] = [to_item(i) for i in elem.value]
        elif elem.value is None:
            out[elem.keyword] = ""
        elif isinstance(elem.value, MultiValue):
            out[elem.keyword] = "\\".join(str(v) for v in elem.value)
        else:
            out[elem.keyword] = str(elem.value)
    return out


def dimse_status(exc: BaseException, service: str) -> Refusal:
    """The status a failure answers with (PS3.4 C.4.1.1.4 for C-FIND, PS3.7 C for N- services),
    with the reason as the error comment."""
    log.warning("%s refused: %s", service, exc)
    comment = str(exc)
    if service == "C-FIND":
        status = 0xA900 if isinstance(exc, ValidationError) else 0xC001  # identifier mismatch / unable to process
    elif isinstance(exc, dicom.DuplicateMpps):
        status = 0x0111  # duplicate SOP instance
    elif isinstance(exc, NotFound):
        status = 0x0112  # no such SOP instance
    elif isinstance(exc, PermissionDenied):
        status = 0x0124  # refused: not authorized
    elif isinstance(exc, ValidationError):
        status = 0x0106  # invalid attribute value
    else:
        status = 0x0110  # processing failure (includes an MPPS that may no longer be updated)
    return Refusal(status, comment)


class DicomService:
    """The application behind the acceptor (:class:`mutualis.adapters.dicom.acceptor.Application`)."""

    def __init__(self, container: Container, ae_title: str, refresh_s: float = 5.0) -> None:
        self.container = container
        self.ae_title = ae_title
        self.refresh_s = refresh_s
        self._known: frozenset[str] = frozenset()
        self._known_at = float("-inf")
        self._lock = threading.Lock()

    def calling_allowed(self, calling_ae: str) -> bool:
        with self._lock:
            if time.monotonic() - self._known_at >= self.refresh_s:
                try:
                    self._known = frozenset(dicom.known_calling_aes(self.container.uow()))
                    self._known_at = time.monotonic()
                except MutualisError as exc:  # keep the last known list
                    log.error("cannot read the known AE titles: %s", exc)
            return calling_ae in self._known

    def find(self, calling_ae: str, query: Dataset) -> tuple[Sequence[Mapping[str, mwl.Value]], str] | Refusal:
        try:
            charset = str(query.get("SpecificCharacterSet", "") or "")
            items = dicom.worklist(self.container.uow(), calling_ae, to_item(query), now=datetime.now(UTC))
        except Exception as exc:
            return dimse_status(exc, "C-FIND")
        return items, charset if charset in CHARSETS else "ISO_IR 192"

    def n_create(self, calling_ae: str, instance_uid: str, attributes: Dataset) -> Refusal | None:
        try:
            dicom.mpps_in_progress(self.container.uow(), calling_ae, instance_uid, to_item(attributes),
                                   now=datetime.now(UTC))
        except Exception as exc:
            return dimse_status(exc, "N-CREATE")
        return None

    def n_set(self, calling_ae: str, instance_uid: str, modifications: Dataset) -> Refusal | None:
        try:
            dicom.mpps_update(self.container.uow(), calling_ae, instance_uid, to_item(modifications),
                              now=datetime.now(UTC))
        except Exception as exc:
            return dimse_status(exc, "N-SET")
        return None

    def start(self, host: str, port: int, *, block: bool = False) -> Server:
        self.calling_allowed("")  # read the known titles now: a broken database shows at start
        log.info("DICOM %s listening on %s:%s", self.ae_title, host, port)
        # the objects made at start-up (modules, the territory, SQLAlchemy's compiled queries) are
        # frozen out of the collector's way: its full passes were pauses of 100-200 ms for a modality
        gc.freeze()
        server = Server((host, port), self)
        if block:
            try:
                server.serve_forever(poll_interval=0.2)
            finally:
                server.server_close()
            return server
        return server.start()
