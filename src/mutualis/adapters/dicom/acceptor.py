"""A DICOM acceptor for the services Mutualis provides: Verification, Modality Worklist FIND and
Modality Performed Procedure Step (PS3.8 upper layer, PS3.7 DIMSE). One thread per association.

Why not pynetdicom's: its state machine runs in a second thread per association that polls,
and every message goes through it; a modality paid about 8 ms more per association than with
Orthanc. Here the association's own thread reads a PDU, answers, and reads the next, and the
worklist answers go out as pre-encoded PDUs (:mod:`.wire`).

What is negotiated: the three SOP classes above, in implicit or explicit VR little endian
(explicit preferred; big endian, retired in 2018, is refused per context); our maximum PDU
length; nothing else (no asynchronous operations, no role selection, no extended negotiation:
the standard's defaults apply). What the application decides (who may call, what to answer) is
behind :class:`Application`; every failure it meets is already a DIMSE status there.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import socketserver
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.dsutils import decode

from mutualis.adapters.dicom import upper_layer as ul
from mutualis.adapters.dicom import wire
from mutualis.engines import mwl

log = logging.getLogger("mutualis.dicom")

VERIFICATION = "1.2.840.10008.1.1"
MWL_FIND = "1.2.840.10008.5.1.4.31"
MPPS = "1.2.840.10008.3.1.2.3.3"
SOP_CLASSES = (VERIFICATION, MWL_FIND, MPPS)
EXPLICIT_LE, IMPLICIT_LE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
C_FIND_RQ, C_ECHO_RQ, N_SET_RQ, N_CREATE_RQ, C_CANCEL_RQ = 0x0020, 0x0030, 0x0120, 0x0140, 0x0FFF
# command elements (group 0000)
AFFECTED_SOP_CLASS, REQUESTED_SOP_CLASS, COMMAND_FIELD, MESSAGE_ID = 0x0002, 0x0003, 0x0100, 0x0110
BEING_RESPONDED_TO, DATASET_TYPE, AFFECTED_INSTANCE, REQUESTED_INSTANCE = 0x0120, 0x0800, 0x1000, 0x1001
UNRECOGNIZED_OPERATION, SOP_CLASS_NOT_SUPPORTED, CANCEL = 0x0211, 0x0122, 0xFE00
MAX_LENGTH = 262_144  # our maximum PDU length, announced in the A-ASSOCIATE-AC
ARTIM_S = 30.0  # to receive the A-ASSOCIATE-RQ
IDLE_S = 60.0  # silence on an established association before we abort it
MAX_ASSOCIATIONS = 64
BATCH = 200  # worklist items written per send; a C-CANCEL is looked for between two


@dataclass(frozen=True)
class Refusal:
    status: int
    comment: str = ""


class Application(Protocol):
    """What the acceptor asks of the worklist provider. Methods never raise: a failure comes back
    as a :class:`Refusal` with its DIMSE status."""

    ae_title: str

    def calling_allowed(self, calling_ae: str) -> bool: ...

    def find(self, calling_ae: str, query: Dataset) -> tuple[Sequence[Mapping[str, mwl.Value]], str] | Refusal: ...

    def n_create(self, calling_ae: str, instance_uid: str, attributes: Dataset) -> Refusal | None: ...

    def n_set(self, calling_ae: str, instance_uid: str, modifications: Dataset) -> Refusal | None: ...


class Closed(Exception):
    """The peer closed the connection, or aborted, or the association ended."""


@dataclass
class _Message:
    context_id: int
    command: dict[int, bytes]
    dataset: bytes | None


class Association:
    def __init__(self, sock: socket.socket, app: Application) -> None:
        self.sock, self.app = sock, app
        self.buffer = bytearray()
        self.contexts: dict[int, tuple[str, str]] = {}  # id → (abstract syntax, transfer syntax)
        self.peer_max = 0
        self.calling = ""

    # -- reading and writing
    def _fill(self, n: int) -> None:
        while len(self.buffer) < n:
            try:
                chunk = self.sock.recv(max(65_536, n - len(self.buffer)))
            except (TimeoutError, OSError) as exc:
                raise Closed(f"receive: {exc or 'timeout'}") from exc
            if not chunk:
                raise Closed("connection closed by the peer")
            self.buffer += chunk

    def read_pdu(self) -> tuple[int, bytes]:
        self._fill(6)
        kind, length = self.buffer[0], struct.unpack_from(">I", self.buffer, 2)[0]
        if kind not in range(1, 8):
            raise ul.PduError(f"unknown PDU type 0x{kind:02X}", ul.UNRECOGNIZED_PDU)
        if length > (MAX_LENGTH + 64 if kind == ul.P_DATA_TF else 1 << 20):
            raise ul.PduError(f"PDU of type {kind} too long ({length} bytes)")
        self._fill(6 + length)
        body = bytes(self.buffer[6:6 + length])
        del self.buffer[:6 + length]
        return kind, body

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise Closed(f"send: {exc}") from exc

    def _pending_input(self) -> bool:
        if self.buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    # -- association
    def run(self) -> None:
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(ARTIM_S)
        try:
            if self._associate():
                self.sock.settimeout(IDLE_S)
                self._serve()
        except ul.PduError as exc:
            log.warning("DICOM association from %s aborted: %s", self.calling or "?", exc)
            self._try_send(ul.abort(exc.reason))
        except Closed as exc:
            log.debug("DICOM association from %s ended: %s", self.calling or "?", exc)
        except Exception:  # a bug must not take the server down: abort this association only
            log.exception("DICOM association from %s failed", self.calling or "?")
            self._try_send(ul.abort(0))

    def _try_send(self, data: bytes) -> None:
        with contextlib.suppress(Closed):
            self.send(data)

    def _associate(self) -> bool:
        kind, body = self.read_pdu()
        if kind != ul.ASSOCIATE_RQ:
            raise ul.PduError(f"PDU type {kind} before A-ASSOCIATE-RQ", ul.UNEXPECTED_PDU)
        rq = ul.parse_associate_rq(body)
        self.calling = rq.calling_ae
        refusal = self._refusal(rq)
        if refusal is not None:
            why, (result, source, reason) = refusal
            log.warning("DICOM association from %r to %r rejected: %s", rq.calling_ae, rq.called_ae, why)
            self._try_send(ul.associate_rj(result, source, reason))
            return False
        results = []
        for pc in rq.contexts:
            syntax = next((s for s in (EXPLICIT_LE, IMPLICIT_LE) if s in pc.transfer_syntaxes), None)
            if pc.abstract_syntax not in SOP_CLASSES:
                results.append((pc.id, ul.ABSTRACT_SYNTAX_NOT_SUPPORTED, pc.transfer_syntaxes[0]))
            elif syntax is None:
                results.append((pc.id, ul.TRANSFER_SYNTAXES_NOT_SUPPORTED, pc.transfer_syntaxes[0]))
            else:
                results.append((pc.id, ul.ACCEPTANCE, syntax))
                self.contexts[pc.id] = (pc.abstract_syntax, syntax)
        self.peer_max = rq.max_length
        self.send(ul.associate_ac(rq, results, MAX_LENGTH))
        return True

    def _refusal(self, rq: ul.AssociateRequest) -> tuple[str, tuple[int, int, int]] | None:
        if not rq.protocol_version & 1:
            return "protocol version", (ul.REJECTED_PERMANENT, ul.SERVICE_PROVIDER_ACSE,
                                        ul.PROTOCOL_VERSION_NOT_SUPPORTED)
        if rq.application_context != ul.APPLICATION_CONTEXT:
            return "application context", (ul.REJECTED_PERMANENT, ul.SERVICE_USER,
                                           ul.APPLICATION_CONTEXT_NOT_SUPPORTED)
        if rq.called_ae != self.app.ae_title:
            return "called AE title is not ours", (ul.REJECTED_PERMANENT, ul.SERVICE_USER, ul.CALLED_AE_NOT_RECOGNIZED)
        if not self.app.calling_allowed(rq.calling_ae):
            return "calling AE title is no machine of a territory", (
                ul.REJECTED_PERMANENT, ul.SERVICE_USER, ul.CALLING_AE_NOT_RECOGNIZED)
        return None

    def _serve(self) -> None:
        while True:
            message = self._read_message()
            if message is None:  # released
                return
            self._answer(message)

    def _read_message(self) -> _Message | None:
        """The next whole DIMSE message, or None after an A-RELEASE."""
        command, dataset = bytearray(), bytearray()
        context_id, command_done, needs_dataset = 0, False, False
        while True:
            kind, body = self.read_pdu()
            if kind == ul.RELEASE_RQ:
                self.send(ul.RELEASE_RP_PDU)
                return None
            if kind == ul.ABORT:
                raise Closed("aborted by the peer")
            if kind != ul.P_DATA_TF:
                raise ul.PduError(f"PDU type {kind} on an established association", ul.UNEXPECTED_PDU)
            for pc, header, fragment in ul.parse_p_data(body):
                if pc not in self.contexts or (context_id and pc != context_id):
                    raise ul.PduError(f"presentation context {pc} not accepted or not this message's")
                context_id = pc
                if header & 0x01:
                    if command_done:
                        raise ul.PduError("command fragment after a complete command")
                    command += fragment
                    if header & 0x02:
                        command_done = True
                        parsed = self._command(bytes(command))
                        needs_dataset = wire.command_us(parsed, DATASET_TYPE) != wire.NO_DATASET
                        if not needs_dataset:
                            return _Message(context_id, parsed, None)
                else:
                    if not command_done:
                        raise ul.PduError("data set fragment before its command")
                    dataset += fragment
                    if header & 0x02:
                        return _Message(context_id, parsed, bytes(dataset))

    @staticmethod
    def _command(raw: bytes) -> dict[int, bytes]:
        try:
            return wire.parse_command(raw)
        except ValueError as exc:
            raise ul.PduError(str(exc)) from exc

    # -- DIMSE
    def _respond(self, context_id: int, command: bytes, dataset: bytes | None = None) -> None:
        out = wire.p_data(context_id, command, command=True, max_pdu=self.peer_max)
        if dataset is not None:
            out += wire.p_data(context_id, dataset, command=False, max_pdu=self.peer_max)
        self.send(out)

    def _dataset(self, message: _Message) -> Dataset:
        implicit = self.contexts[message.context_id][1] == IMPLICIT_LE
        return decode(BytesIO(message.dataset or b""), implicit, True)

    def _answer(self, m: _Message) -> None:
        field = wire.command_us(m.command, COMMAND_FIELD)
        message_id = wire.command_us(m.command, MESSAGE_ID) or 0
        abstract = self.contexts[m.context_id][0]
        sop_class = wire.command_ui(m.command, AFFECTED_SOP_CLASS) or wire.command_ui(m.command, REQUESTED_SOP_CLASS)
        if field is None or field & 0x8000 or field == C_CANCEL_RQ:
            return  # a response, or a C-CANCEL for a request already answered: nothing to say
        wanted = {C_ECHO_RQ: VERIFICATION, C_FIND_RQ: MWL_FIND, N_CREATE_RQ: MPPS, N_SET_RQ: MPPS}.get(field)
        if wanted is None:
            log.warning("DICOM %s: unsupported operation 0x%04X", self.calling, field)
            self._respond(m.context_id, wire.response(field | 0x8000, sop_class, message_id, UNRECOGNIZED_OPERATION))
        elif wanted != abstract or sop_class != abstract:
            log.warning("DICOM %s: operation 0x%04X for %s on a %s context", self.calling, field, sop_class, abstract)
            self._respond(m.context_id, wire.response(field | 0x8000, sop_class, message_id, SOP_CLASS_NOT_SUPPORTED))
        elif field == C_ECHO_RQ:
            self._respond(m.context_id, wire.response(C_ECHO_RQ | 0x8000, sop_class, message_id, 0x0000))
        elif field == C_FIND_RQ:
            self._find(m, message_id, sop_class)
        else:
            self._n_service(m, field, message_id, sop_class)

    def _find(self, m: _Message, message_id: int, sop_class: str) -> None:
        try:
            query = self._dataset(m)
            answer = self.app.find(self.calling, query)
        except Exception as exc:  # undecodable identifier
            log.warning("DICOM %s: C-FIND identifier not decodable: %s", self.calling, exc)
            answer = Refusal(0xC310, "identifier could not be decoded")
        if isinstance(answer, Refusal):
            self._respond(m.context_id, wire.response(wire.C_FIND_RSP, sop_class, message_id, answer.status,
                                                      comment=answer.comment))
            return
        items, charset = answer
        implicit = self.contexts[m.context_id][1] == IMPLICIT_LE
        try:  # all encoded before anything is sent: a failure is then a clean failure status
            batches = [wire.pending_responses(items[start:start + BATCH], message_id=message_id,
                                              sop_class_uid=sop_class, context_id=m.context_id, charset=charset,
                                              implicit=implicit, max_pdu=self.peer_max)
                       for start in range(0, len(items), BATCH)]
        except wire.Unencodable as exc:
            log.error("DICOM %s: worklist answer not encodable: %s", self.calling, exc)
            self._respond(m.context_id, wire.response(wire.C_FIND_RSP, sop_class, message_id, 0xC001,
                                                      comment=str(exc)))
            return
        for batch in batches:
            if self._cancelled(message_id):
                self._respond(m.context_id, wire.c_find_rsp(message_id, sop_class, CANCEL, False))
                return
            self.send(batch)
        self._respond(m.context_id, wire.c_find_rsp(message_id, sop_class, 0x0000, False))

    def _cancelled(self, message_id: int) -> bool:
        """Whether a C-CANCEL for this C-FIND is waiting (anything else waiting is an error here:
        without asynchronous operations the peer must wait for the final response)."""
        if not self._pending_input():
            return False
        message = self._read_message()
        if message is None:
            raise Closed("released in the middle of a C-FIND")
        field = wire.command_us(message.command, COMMAND_FIELD)
        if field == C_CANCEL_RQ and wire.command_us(message.command, BEING_RESPONDED_TO) == message_id:
            return True
        raise ul.PduError(f"operation 0x{field or 0:04X} while a C-FIND is answered", ul.UNEXPECTED_PDU)

    def _n_service(self, m: _Message, field: int, message_id: int, sop_class: str) -> None:
        create = field == N_CREATE_RQ
        uid = wire.command_ui(m.command, AFFECTED_INSTANCE if create else REQUESTED_INSTANCE)
        if create and not uid:
            uid = str(generate_uid())  # the SCP allocates it when the SCU did not (PS3.7 10.1.5.1.3)
        try:
            data = self._dataset(m)
        except Exception as exc:
            log.warning("DICOM %s: N-%s data set not decodable: %s", self.calling, "CREATE" if create else "SET", exc)
            refusal: Refusal | None = Refusal(0x0110, "data set could not be decoded")
        else:
            refusal = self.app.n_create(self.calling, uid, data) if create else self.app.n_set(self.calling, uid, data)
        status, comment = (refusal.status, refusal.comment) if refusal else (0x0000, "")
        self._respond(m.context_id, wire.response(field | 0x8000, sop_class, message_id, status, instance_uid=uid,
                                                  comment=comment))


class Server(socketserver.TCPServer):
    """A thread per association, at most :data:`MAX_ASSOCIATIONS` at once (the next ones are
    rejected, transient, local limit exceeded). ``start`` serves from a thread of its own;
    ``shutdown`` stops accepting and closes the listening socket."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Application) -> None:
        super().__init__(address, socketserver.BaseRequestHandler)
        self.app = app
        self.limit = threading.BoundedSemaphore(MAX_ASSOCIATIONS)

    def start(self) -> Server:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="dicom-acceptor",
                         daemon=True).start()
        return self

    def process_request(self, request: Any, client_address: Any) -> None:
        busy = not self.limit.acquire(blocking=False)
        threading.Thread(target=self._association, args=(request, busy), daemon=True).start()

    def _association(self, sock: socket.socket, busy: bool) -> None:
        try:
            if busy:
                sock.settimeout(ARTIM_S)
                Association(sock, self.app).read_pdu()
                sock.sendall(ul.associate_rj(ul.REJECTED_TRANSIENT, ul.SERVICE_PROVIDER_PRESENTATION,
                                             ul.LOCAL_LIMIT_EXCEEDED))
            else:
                Association(sock, self.app).run()
        except (Closed, ul.PduError, OSError):
            pass
        finally:
            if not busy:
                self.limit.release()
            self.shutdown_request(sock)

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
