"""DICOM Upper Layer protocol data units, as an acceptor needs them (PS3.8 section 9.3).

Parsing raises :class:`PduError` with the A-ABORT reason the standard gives for the fault
(PS3.8 table 9-26); building returns the bytes to write. No I/O here: :mod:`.acceptor` reads
and writes the socket.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

ASSOCIATE_RQ, ASSOCIATE_AC, ASSOCIATE_RJ, P_DATA_TF, RELEASE_RQ, RELEASE_RP, ABORT = range(1, 8)
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLEMENTATION_CLASS_UID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'https://mutualis.invalid/dicom').int}"
IMPLEMENTATION_VERSION = "MUTUALIS_1"

# A-ABORT reasons (source: service provider)
UNRECOGNIZED_PDU, UNEXPECTED_PDU, UNRECOGNIZED_PARAMETER, INVALID_PARAMETER = 1, 2, 4, 6
# A-ASSOCIATE-RJ: result, source, reason (PS3.8 table 9-21)
REJECTED_PERMANENT, REJECTED_TRANSIENT = 1, 2
SERVICE_USER, SERVICE_PROVIDER_ACSE, SERVICE_PROVIDER_PRESENTATION = 1, 2, 3
APPLICATION_CONTEXT_NOT_SUPPORTED, CALLING_AE_NOT_RECOGNIZED, CALLED_AE_NOT_RECOGNIZED = 2, 3, 7
PROTOCOL_VERSION_NOT_SUPPORTED = 2  # source: ACSE
LOCAL_LIMIT_EXCEEDED = 2  # source: presentation
# presentation context results (PS3.8 table 9-18)
ACCEPTANCE, ABSTRACT_SYNTAX_NOT_SUPPORTED, TRANSFER_SYNTAXES_NOT_SUPPORTED = 0, 3, 4


class PduError(Exception):
    """A malformed or unexpected PDU; ``reason`` is the A-ABORT reason to answer with."""

    def __init__(self, message: str, reason: int = INVALID_PARAMETER) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PresentationContext:
    id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]


@dataclass(frozen=True)
class AssociateRequest:
    protocol_version: int
    called_ae: str
    calling_ae: str
    raw_titles: bytes  # called, calling and the 32 reserved bytes, echoed in the answer
    application_context: str
    contexts: tuple[PresentationContext, ...]
    max_length: int  # 0: no limit
    implementation_class_uid: str


def _uid(raw: bytes) -> str:
    return raw.rstrip(b"\0 ").decode("ascii", errors="replace")


def _items(body: bytes, where: str) -> list[tuple[int, bytes]]:
    """Items and sub-items: type (1), reserved (1), length (2, big endian), value."""
    out, i = [], 0
    while i < len(body):
        if i + 4 > len(body):
            raise PduError(f"{where}: truncated item header")
        kind, length = body[i], struct.unpack_from(">H", body, i + 2)[0]
        if i + 4 + length > len(body):
            raise PduError(f"{where}: item 0x{kind:02X} longer than its PDU")
        out.append((kind, body[i + 4:i + 4 + length]))
        i += 4 + length
    return out


def _context(value: bytes) -> PresentationContext:
    if len(value) < 4:
        raise PduError("presentation context item too short")
    abstract, syntaxes = "", []
    for kind, sub in _items(value[4:], "presentation context"):
        if kind == 0x30:
            abstract = _uid(sub)
        elif kind == 0x40:
            syntaxes.append(_uid(sub))
        else:
            raise PduError(f"presentation context: unknown sub-item 0x{kind:02X}", UNRECOGNIZED_PARAMETER)
    if not abstract or not syntaxes:
        raise PduError(f"presentation context {value[0]}: no abstract syntax or no transfer syntax")
    return PresentationContext(value[0], abstract, tuple(syntaxes))


def parse_associate_rq(body: bytes) -> AssociateRequest:
    """The body of an A-ASSOCIATE-RQ (after the 6-byte PDU header)."""
    if len(body) < 68:
        raise PduError("A-ASSOCIATE-RQ shorter than its fixed fields")
    version = struct.unpack_from(">H", body, 0)[0]
    called = body[4:20].decode("ascii", errors="replace").strip()
    calling = body[20:36].decode("ascii", errors="replace").strip()
    application, contexts, max_length, implementation = "", [], 0, ""
    for kind, value in _items(body[68:], "A-ASSOCIATE-RQ"):
        if kind == 0x10:
            application = _uid(value)
        elif kind == 0x20:
            contexts.append(_context(value))
        elif kind == 0x50:
            for sub, raw in _items(value, "user information"):
                if sub == 0x51 and len(raw) == 4:
                    max_length = struct.unpack(">I", raw)[0]
                elif sub == 0x52:
                    implementation = _uid(raw)
                # asynchronous operations, role selection, extended negotiation, user identity:
                # not negotiated, which the standard allows (defaults apply)
        else:
            raise PduError(f"A-ASSOCIATE-RQ: unknown item 0x{kind:02X}", UNRECOGNIZED_PARAMETER)
    return AssociateRequest(version, called, calling, body[4:68], application, tuple(contexts), max_length,
                            implementation)


def _item(kind: int, value: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(value)) + value


def _pdu(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBI", kind, 0, len(body)) + body


def associate_ac(rq: AssociateRequest, results: list[tuple[int, int, str]], max_length: int) -> bytes:
    """Accept: ``results`` is (context id, result, transfer syntax) per proposed context."""
    items = _item(0x10, APPLICATION_CONTEXT.encode())
    for context_id, result, syntax in results:
        items += _item(0x21, bytes((context_id, 0, result, 0)) + _item(0x40, syntax.encode()))
    user = (_item(0x51, struct.pack(">I", max_length)) + _item(0x52, IMPLEMENTATION_CLASS_UID.encode())
            + _item(0x55, IMPLEMENTATION_VERSION.encode()))
    items += _item(0x50, user)
    return _pdu(ASSOCIATE_AC, struct.pack(">HH", 1, 0) + rq.raw_titles + items)


def associate_rj(result: int, source: int, reason: int) -> bytes:
    return _pdu(ASSOCIATE_RJ, bytes((0, result, source, reason)))


def abort(reason: int = 0, source: int = 2) -> bytes:
    """A-ABORT; source 2 is the service provider (then ``reason`` says why), 0 the service user."""
    return _pdu(ABORT, bytes((0, 0, source, reason if source == 2 else 0)))


RELEASE_RP_PDU = _pdu(RELEASE_RP, bytes(4))


def parse_p_data(body: bytes) -> list[tuple[int, int, bytes]]:
    """The PDVs of a P-DATA-TF: (presentation context id, message control header, fragment)."""
    out, i = [], 0
    while i < len(body):
        if i + 6 > len(body):
            raise PduError("P-DATA-TF: truncated PDV header")
        length = struct.unpack_from(">I", body, i)[0]
        if length < 2 or i + 4 + length > len(body):
            raise PduError("P-DATA-TF: PDV length does not fit its PDU")
        out.append((body[i + 4], body[i + 5], body[i + 6:i + 4 + length]))
        i += 4 + length
    if not out:
        raise PduError("P-DATA-TF without a PDV")
    return out
