"""The DICOM service of Mutualis: Verification, Modality Worklist FIND and Modality Performed
Procedure Step (pynetdicom). Datasets are converted to plain values at this edge; every
exception becomes a DIMSE status here, in one place (:func:`dimse_status`), with a log line.

Associations: the called AE title must be ours, and the calling AE title must be the AE
title of a machine of a territory (read from the database, refreshed every few seconds).
Each accepted connection gets TCP_NODELAY: a worklist answer is many small PDUs, and Nagle's
algorithm would hold each of them back for a delayed ACK.
"""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom import _config as _pynetdicom_config
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # generated at import time
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

from mutualis.adapters.dicom import wire
from mutualis.bootstrap import Container
from mutualis.domain.errors import MutualisError, NotFound, PermissionDenied, ValidationError
from mutualis.engines import mwl
from mutualis.services import dicom

log = logging.getLogger("mutualis.dicom")
CHARSETS = ("ISO_IR 192", "ISO_IR 100")  # UTF-8, and Latin-1 for the modalities that ask for it
DUL_POLL_S = 0.0002
DIRECT_BATCH = 200  # pending responses written per socket send; a C-CANCEL is seen between two


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


def to_dataset(item: mwl.Item, charset: str = "ISO_IR 192") -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    _fill(ds, item)
    return ds


def _fill(ds: Dataset, item: mwl.Item) -> None:
    for key, value in item.items():
        if isinstance(value, str):
            setattr(ds, key, value)
        else:
            children = []
            for child in value:
                sub = Dataset()
                _fill(sub, child)
                children.append(sub)
            setattr(ds, key, DicomSequence(children))


def dimse_status(exc: BaseException, service: str) -> int:
    """The status a failure answers with (PS3.4 C.4.1.1.4 for C-FIND, PS3.7 C for N- services)."""
    log.warning("%s refused: %s", service, exc)
    if service == "C-FIND":
        return 0xA900 if isinstance(exc, ValidationError) else 0xC001  # identifier mismatch / unable to process
    if isinstance(exc, dicom.DuplicateMpps):
        return 0x0111  # duplicate SOP instance
    if isinstance(exc, NotFound):
        return 0x0112  # no such SOP instance
    if isinstance(exc, PermissionDenied):
        return 0x0124  # refused: not authorized
    if isinstance(exc, ValidationError):
        return 0x0106  # invalid attribute value
    return 0x0110  # processing failure (includes an MPPS that may no longer be updated)


class DicomService:
    def __init__(self, container: Container, ae_title: str, refresh_s: float = 5.0) -> None:
        self.container = container
        # pynetdicom pretty-prints every identifier for its debug log even when nobody reads it:
        # 2 to 3 ms per worklist answer of 20 items
        _pynetdicom_config.LOG_REQUEST_IDENTIFIERS = False
        _pynetdicom_config.LOG_RESPONSE_IDENTIFIERS = False
        self.ae = AE(ae_title=ae_title)
        self.ae.require_called_aet = True
        self.ae.add_supported_context(Verification)
        self.ae.add_supported_context(ModalityWorklistInformationFind)
        self.ae.add_supported_context(ModalityPerformedProcedureStep)
        self.refresh_s = refresh_s
        self._known_at = 0.0
        self._lock = threading.Lock()
        self.handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, self.on_connect),
            (evt.EVT_C_ECHO, lambda event: 0x0000),
            (evt.EVT_C_FIND, self.on_find),
            (evt.EVT_N_CREATE, self.on_n_create),
            (evt.EVT_N_SET, self.on_n_set),
        ]

    def _refresh_known(self) -> None:
        with self._lock:
            if time.monotonic() - self._known_at < self.refresh_s:
                return
            known = sorted(dicom.known_calling_aes(self.container.uow()))
            # an empty list would let anybody in: keep one title no machine can have
            self.ae.require_calling_aet = known or ["\\"]
            self._known_at = time.monotonic()

    def on_connect(self, event: Any) -> None:
        sock = getattr(event.assoc.dul.socket, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # pynetdicom's DUL thread sleeps this long between polls when idle (1 ms by default),
        # which a modality pays on every request and again on every final response
        event.assoc.dul._run_loop_delay = DUL_POLL_S
        try:
            self._refresh_known()
        except MutualisError as exc:
            log.error("cannot read the known AE titles: %s", exc)

    def on_find(self, event: Any) -> Iterator[tuple[int, Dataset | None]]:
        calling = event.assoc.requestor.ae_title.strip()
        try:
            identifier = event.identifier
            charset = str(identifier.get("SpecificCharacterSet", "") or "")
            charset = charset if charset in CHARSETS else "ISO_IR 192"
            items = dicom.worklist(self.container.uow(), calling, to_item(identifier), now=datetime.now(UTC))
        except Exception as exc:
            yield dimse_status(exc, "C-FIND"), None
            return
        implicit = wire.little_endian(str(event.context.transfer_syntax))
        if implicit is not None:
            try:
                yield from self._send_direct(event, items, charset, implicit)
                return
            except wire.Unencodable as exc:
                log.info("worklist answer through pynetdicom's encoder: %s", exc)
        for item in items:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield 0xFF00, to_dataset(item, charset)

    def _send_direct(self, event: Any, items: list[dict[str, mwl.Value]], charset: str,
                     implicit: bool) -> Iterator[tuple[int, Dataset | None]]:
        """Write the pending responses onto the socket ourselves, in batches (a C-CANCEL is
        honoured between batches); pynetdicom then sends the final response. Nothing else is
        sent on this association while its C-FIND is being answered, so the PDUs cannot
        interleave with pynetdicom's. Raises :class:`wire.Unencodable` before sending anything."""
        assoc = event.assoc
        batches = [wire.pending_responses(
            items[i:i + DIRECT_BATCH], message_id=int(event.request.MessageID),
            sop_class_uid=str(event.request.AffectedSOPClassUID), context_id=int(event.context.context_id),
            charset=charset, implicit=implicit, max_pdu=int(assoc.requestor.maximum_length or 0))
            for i in range(0, len(items), DIRECT_BATCH)]
        for data in batches:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            if not assoc.is_established:
                return
            assoc.dul.socket.send(data)

    def on_n_create(self, event: Any) -> tuple[int, Dataset | None]:
        calling = event.assoc.requestor.ae_title.strip()
        uid = event.request.AffectedSOPInstanceUID or generate_uid()
        try:
            attrs = to_item(event.attribute_list)
            dicom.mpps_in_progress(self.container.uow(), calling, str(uid), attrs, now=datetime.now(UTC))
        except Exception as exc:
            return dimse_status(exc, "N-CREATE"), None
        answer = Dataset()
        answer.AffectedSOPInstanceUID = uid
        return 0x0000, answer

    def on_n_set(self, event: Any) -> tuple[int, Dataset | None]:
        calling = event.assoc.requestor.ae_title.strip()
        uid = str(event.request.RequestedSOPInstanceUID)
        try:
            dicom.mpps_update(
                self.container.uow(), calling, uid, to_item(event.modification_list), now=datetime.now(UTC)
            )
        except Exception as exc:
            return dimse_status(exc, "N-SET"), None
        return 0x0000, Dataset()

    def start(self, host: str, port: int, *, block: bool = False) -> ThreadedAssociationServer | None:
        self._refresh_known()
        log.info("DICOM %s listening on %s:%s", self.ae.ae_title, host, port)
        # pynetdicom's server runs a full gc.collect() every 60 requests or poll timeouts, to reap
        # association threads; with our heap that is a 100–200 ms pause for whichever modality is
        # being answered. Python's own collector reaps them anyway, and the objects made at start-up
        # (modules, the territory, SQLAlchemy's compiled queries) are frozen out of its way.
        gc.freeze()
        if block:
            return self.ae.start_server((host, port), block=True, evt_handlers=self.handlers)
        server = self.ae.start_server((host, port), block=False, evt_handlers=self.handlers)
        if server is not None and hasattr(server, "_gc"):
            server._gc = [0, -1]  # never equal: no forced collection
        return server

    def stop(self) -> None:
        self.ae.shutdown()
