"""The DICOM acceptor's protocol behaviour against real peers (pynetdicom, dcmtk's echoscu) and
raw sockets for what no well-behaved peer sends. The application behind it is a small in-memory
one: the worklist and MPPS use cases over a database are tested in test_dicom.py."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)

from mutualis.adapters.dicom import acceptor, wire
from mutualis.adapters.dicom.acceptor import Refusal, Server
from mutualis.engines import mwl
from tests.support.dcmtk import dcmtk

MWL = "1.2.840.10008.5.1.4.31"


@dataclass
class Fake:
    ae_title: str = "MUTUALIS"
    items: int = 3
    created: list[str] = field(default_factory=list)

    def calling_allowed(self, calling_ae: str) -> bool:
        return calling_ae.startswith("MOD")

    def find(self, calling_ae: str, query: Dataset) -> tuple[Sequence[Mapping[str, mwl.Value]], str] | Refusal:
        if str(query.get("PatientID", "")) == "bad":
            return Refusal(0xA900, "PatientID: not allowed here")
        if str(query.get("PatientID", "")) == "binary":  # a value the worklist encoder cannot write
            return [{"PixelData": "x"}], "ISO_IR 192"
        return [{"PatientName": f"DUPRÉ^Hélène {n}", "AccessionNumber": f"A{n}"} for n in range(self.items)], \
            "ISO_IR 192"

    def n_create(self, calling_ae: str, instance_uid: str, attributes: Dataset) -> Refusal | None:
        self.created.append(instance_uid)
        return None

    def n_set(self, calling_ae: str, instance_uid: str, modifications: Dataset) -> Refusal | None:
        return Refusal(0x0112, "no such MPPS")


@pytest.fixture
def server() -> Iterator[tuple[Server, Fake]]:
    app = Fake()
    s = Server(("127.0.0.1", 0), app).start()
    try:
        yield s, app
    finally:
        s.shutdown()


def _port(s: Server) -> int:
    return int(s.server_address[1])


def _item(kind: int, value: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(value)) + value


def associate_rq(calling: str, called: str = "MUTUALIS", abstract: str = MWL,
                 syntaxes: tuple[str, ...] = ("1.2.840.10008.1.2",)) -> bytes:
    """An A-ASSOCIATE-RQ written from PS3.8 9.3.2, independently of the module under test."""
    pc = bytes((1, 0, 0, 0)) + _item(0x30, abstract.encode()) + b"".join(_item(0x40, s.encode()) for s in syntaxes)
    body = (struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode() + bytes(32)
            + _item(0x10, b"1.2.840.10008.3.1.1.1") + _item(0x20, pc) + _item(0x50, _item(0x51, struct.pack(">I", 0))))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    def exact(n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out

    head = exact(6)
    return head[0], exact(struct.unpack(">I", head[2:])[0])


def message(command: Mapping[int, bytes], dataset: bytes | None = None) -> bytes:
    out = wire.p_data(1, wire.command_set(command), command=True, max_pdu=0)
    return out + (wire.p_data(1, dataset, command=False, max_pdu=0) if dataset is not None else b"")


def c_find_rq(message_id: int, dataset_type: int = 0x0000) -> dict[int, bytes]:
    return {0x0002: MWL.encode() + b"\0", 0x0100: struct.pack("<H", 0x0020), 0x0110: struct.pack("<H", message_id),
            0x0700: struct.pack("<H", 0), 0x0800: struct.pack("<H", dataset_type)}


def responses(sock: socket.socket) -> list[dict[int, bytes]]:
    """Command sets received until a final (non-pending) response."""
    out: list[dict[int, bytes]] = []
    command = b""
    while True:
        kind, body = read_pdu(sock)
        assert kind == 4, f"PDU type {kind}"
        i = 0
        while i < len(body):
            length = struct.unpack_from(">I", body, i)[0]
            header, fragment = body[i + 5], body[i + 6:i + 4 + length]
            i += 4 + length
            if header & 1:
                command += fragment
                if header & 2:
                    out.append(wire.parse_command(command))
                    command = b""
                    if wire.command_us(out[-1], 0x0900) not in (0xFF00, 0xFF01):
                        return out


def test_verification_by_dcmtk_and_unknown_caller_rejected_with_its_reason(server: tuple[Server, Fake]) -> None:
    s, _ = server
    ok = subprocess.run([dcmtk("echoscu"), "-aet", "MOD_1", "-aec", "MUTUALIS", "127.0.0.1", str(_port(s))],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    with socket.create_connection(("127.0.0.1", _port(s)), timeout=5) as sock:
        sock.sendall(associate_rq("INTRUDER"))
        kind, body = read_pdu(sock)
    assert kind == 3 and body[1:] == bytes((1, 1, 3))  # rejected permanent, service user, calling AE unknown
    with socket.create_connection(("127.0.0.1", _port(s)), timeout=5) as sock:
        sock.sendall(associate_rq("MOD_1", called="SOMEBODY"))
        kind, body = read_pdu(sock)
    assert kind == 3 and body[1:] == bytes((1, 1, 7))  # called AE not recognised


def test_contexts_negotiated_per_sop_class_and_transfer_syntax(server: tuple[Server, Fake]) -> None:
    s, _ = server
    ae = AE(ae_title="MOD_1")
    ae.add_requested_context(ModalityWorklistInformationFind, [ExplicitVRBigEndian])  # retired: refused
    ae.add_requested_context(ModalityPerformedProcedureStep, [ExplicitVRBigEndian, ImplicitVRLittleEndian])
    ae.add_requested_context("1.2.840.10008.5.1.4.1.2.1.1")  # patient root C-FIND: not offered
    assoc = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS")
    assert assoc.is_established
    try:
        results = {str(c.abstract_syntax): c.result for c in assoc.rejected_contexts}
        assert results == {ModalityWorklistInformationFind: 4, "1.2.840.10008.5.1.4.1.2.1.1": 3}
        (accepted,) = assoc.accepted_contexts
        assert accepted.abstract_syntax == ModalityPerformedProcedureStep
        assert accepted.transfer_syntax[0] == ImplicitVRLittleEndian
    finally:
        assoc.release()


def test_answers_fit_a_small_maximum_pdu_and_refusals_carry_their_comment(server: tuple[Server, Fake]) -> None:
    s, app = server
    app.items = 40
    ae = AE(ae_title="MOD_1")
    ae.maximum_pdu_size = 512  # every identifier is cut into fragments
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS", max_pdu=512)
    assert assoc.is_established
    try:
        query = Dataset()
        query.PatientName = ""
        answers = list(assoc.send_c_find(query, ModalityWorklistInformationFind))
        pending = [i for st, i in answers if st.Status == 0xFF00]
        assert [str(i.PatientName) for i in pending] == [f"DUPRÉ^Hélène {n}" for n in range(40)]
        assert answers[-1][0].Status == 0x0000
        query.PatientID = "bad"
        ((status, _),) = list(assoc.send_c_find(query, ModalityWorklistInformationFind))
        assert status.Status == 0xA900 and status.ErrorComment == "PatientID: not allowed here"
        query.PatientID = "binary"
        ((status, _),) = list(assoc.send_c_find(query, ModalityWorklistInformationFind))
        assert status.Status == 0xC001  # unable to process, and the association goes on
        query.PatientID = ""
        assert len(list(assoc.send_c_find(query, ModalityWorklistInformationFind))) == 41
    finally:
        assoc.release()


def test_c_cancel_ends_the_answer_with_cancel_status(server: tuple[Server, Fake]) -> None:
    s, app = server
    app.items = 5000
    with socket.create_connection(("127.0.0.1", _port(s)), timeout=10) as sock:
        sock.sendall(associate_rq("MOD_1"))
        assert read_pdu(sock)[0] == 2
        identifier = wire.identifier({"PatientName": ""}, "ISO_IR 192", implicit=True)
        cancel = {0x0100: struct.pack("<H", 0x0FFF), 0x0120: struct.pack("<H", 7),
                  0x0800: struct.pack("<H", 0x0101)}
        sock.sendall(message(c_find_rq(7), identifier) + message(cancel))  # cancelled at once
        got = responses(sock)
    assert wire.command_us(got[-1], 0x0900) == 0xFE00
    assert len(got) - 1 < 5000


def test_unknown_operation_and_n_create_without_uid(server: tuple[Server, Fake]) -> None:
    s, app = server
    with socket.create_connection(("127.0.0.1", _port(s)), timeout=10) as sock:
        sock.sendall(associate_rq("MOD_1"))
        assert read_pdu(sock)[0] == 2
        store = {0x0002: MWL.encode() + b"\0", 0x0100: struct.pack("<H", 0x0001), 0x0110: struct.pack("<H", 3),
                 0x0800: struct.pack("<H", 0x0101)}
        sock.sendall(message(store))
        (rsp,) = responses(sock)
        assert wire.command_us(rsp, 0x0100) == 0x8001 and wire.command_us(rsp, 0x0900) == 0x0211
    ae = AE(ae_title="MOD_1")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS")
    try:
        attrs = Dataset()
        attrs.PerformedProcedureStepStatus = "IN PROGRESS"
        status, _ = assoc.send_n_create(attrs, ModalityPerformedProcedureStep, None)
        assert status.Status == 0x0000
        (uid,) = app.created
        assert uid.startswith(("1.", "2.")) and len(uid) <= 64  # allocated by the SCP
        status, _ = assoc.send_n_set(attrs, ModalityPerformedProcedureStep, "1.2.3")
        assert status.Status == 0x0112 and status.ErrorComment == "no such MPPS"
    finally:
        assoc.release()


def test_protocol_faults_abort_the_association_and_the_server_keeps_serving(server: tuple[Server, Fake]) -> None:
    s, _ = server
    faults = [
        b"GET / HTTP/1.0\r\n\r\n",  # not DICOM: unrecognised PDU
        wire.p_data(1, b"\0" * 10, command=True, max_pdu=0),  # data before any association
        struct.pack(">BBI", 4, 0, 1 << 30),  # a P-DATA announced far over our maximum length
    ]
    for raw in faults:
        with socket.create_connection(("127.0.0.1", _port(s)), timeout=5) as sock:
            if raw[0] == 4 and len(raw) == 6:
                sock.sendall(associate_rq("MOD_1"))
                assert read_pdu(sock)[0] == 2
            sock.sendall(raw)
            kind, body = read_pdu(sock)
            assert kind == 7 and body[2] == 2, raw[:10]  # A-ABORT from the service provider
    with socket.create_connection(("127.0.0.1", _port(s)), timeout=5) as sock:  # on a context never accepted
        sock.sendall(associate_rq("MOD_1"))
        assert read_pdu(sock)[0] == 2
        sock.sendall(wire.p_data(9, wire.command_set(c_find_rq(1)), command=True, max_pdu=0))
        assert read_pdu(sock)[0] == 7
    ae = AE(ae_title="MOD_1")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS")
    assert assoc.is_established and assoc.send_c_echo().Status == 0x0000
    assoc.release()


def test_over_the_association_limit_is_a_transient_rejection(server: tuple[Server, Fake]) -> None:
    s, _ = server
    s.limit = threading.BoundedSemaphore(1)
    ae = AE(ae_title="MOD_1")
    ae.add_requested_context(Verification)
    first = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS")
    assert first.is_established
    try:
        with socket.create_connection(("127.0.0.1", _port(s)), timeout=5) as sock:
            sock.sendall(associate_rq("MOD_2"))
            kind, body = read_pdu(sock)
        assert kind == 3 and body[1:] == bytes((2, 3, 2))  # transient, presentation, local limit exceeded
    finally:
        first.release()
    again = ae.associate("127.0.0.1", _port(s), ae_title="MUTUALIS")
    assert again.is_established
    again.release()
    assert acceptor.MAX_ASSOCIATIONS >= 10  # the production limit is not the test's 1
