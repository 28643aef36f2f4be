"""DIMSE command sets and worklist answers, encoded and framed without pydicom.

A worklist answer is simple (text attributes and nested sequences, all from
:mod:`mutualis.engines.mwl`), so this module encodes the identifiers and the command sets
itself and frames them as P-DATA-TF PDUs (PS3.5 section 7, PS3.7 section 9.3 and annex E,
PS3.8 section 9.3.5): through pydicom's general encoder an answer cost about a millisecond per
item. It also reads the command sets the acceptor receives (:func:`parse_command`).

Only little-endian transfer syntaxes (implicit and explicit VR) are written, the only ones the
acceptor negotiates; a value this encoder cannot write (a binary VR with a value, an unknown
keyword, another character set) raises :class:`Unencodable` before anything is sent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from functools import lru_cache

from pydicom.datadict import dictionary_VR, tag_for_keyword

from mutualis.engines import mwl

CODECS = {"ISO_IR 192": "utf-8", "ISO_IR 100": "latin-1", "": "ascii"}
TEXT_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UC", "UT"})  # affected by SpecificCharacterSet
STRING_VRS = TEXT_VRS | frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})
LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
C_FIND_RSP = 0x8020
NO_DATASET, DATASET_PRESENT = 0x0101, 0x0000
ITEM = (0xFFFE, 0xE000)  # sequence items are written with defined lengths: no delimiters


class Unencodable(Exception):
    """This answer needs pynetdicom's general encoder."""


@lru_cache(maxsize=512)
def _element_header(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise Unencodable(f"unknown keyword {keyword}")
    vr = dictionary_VR(tag)
    return tag, vr.split(" or ")[0]


def _header(tag: int, vr: str, length: int, implicit: bool) -> bytes:
    group, element = tag >> 16, tag & 0xFFFF
    if implicit:
        return struct.pack("<HHI", group, element, length)
    if vr in LONG_LENGTH_VRS:
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, length)
    if length > 0xFFFF:
        raise Unencodable(f"value of ({group:04X},{element:04X}) too long for a short length")
    return struct.pack("<HH2sH", group, element, vr.encode(), length)


def _value(text: str, vr: str, codec: str) -> bytes:
    if vr not in STRING_VRS:
        if text:
            raise Unencodable(f"a {vr} value")
        return b""
    raw = text.encode(codec if vr in TEXT_VRS else "ascii", errors="replace")
    if len(raw) % 2:
        raw += b"\0" if vr == "UI" else b" "
    return raw


def encode_dataset(item: Mapping[str, mwl.Value], *, implicit: bool, codec: str) -> bytes:
    """The elements of ``item`` in ascending tag order (defined lengths throughout)."""
    elements: list[tuple[int, bytes]] = []
    for keyword, value in item.items():
        tag, vr = _element_header(keyword)
        if isinstance(value, str):
            raw = _value(value, vr, codec)
        else:
            if vr != "SQ":
                raise Unencodable(f"{keyword} is not a sequence")
            raw = b"".join(_item(child, implicit, codec) for child in value)
            vr = "SQ"
        elements.append((tag, _header(tag, vr, len(raw), implicit) + raw))
    elements.sort(key=lambda e: e[0])
    return b"".join(e for _, e in elements)


def _item(child: Mapping[str, mwl.Value], implicit: bool, codec: str) -> bytes:
    body = encode_dataset(child, implicit=implicit, codec=codec)
    return struct.pack("<HHI", *ITEM, len(body)) + body


def identifier(item: Mapping[str, mwl.Value], charset: str, *, implicit: bool) -> bytes:
    """A C-FIND response identifier: SpecificCharacterSet then the return keys."""
    codec = CODECS.get(charset)
    if codec is None:
        raise Unencodable(f"character set {charset}")
    keys = {"SpecificCharacterSet": charset, **item} if charset else item
    return encode_dataset(keys, implicit=implicit, codec=codec)


def _command_element(tag: int, raw: bytes) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(raw)) + raw


def _uid_value(uid: str) -> bytes:
    raw = uid.encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw


def command_set(fields: Mapping[int, bytes]) -> bytes:
    """A command set from its elements' raw values: group length first, tags ascending, always
    implicit VR little endian (PS3.7 section 6.3.1, annex E.1)."""
    body = b"".join(_command_element(tag, fields[tag]) for tag in sorted(fields))
    return _command_element(0x00000000, struct.pack("<I", len(body))) + body


def response(command_field: int, sop_class_uid: str, message_id: int, status: int, *,
             has_dataset: bool = False, instance_uid: str = "", comment: str = "") -> bytes:
    """A DIMSE response command set (C-ECHO, C-FIND, N-CREATE, N-SET: PS3.7 sections 9.3 and 10.3)."""
    fields = {
        0x00000002: _uid_value(sop_class_uid),
        0x00000100: struct.pack("<H", command_field),
        0x00000120: struct.pack("<H", message_id),
        0x00000800: struct.pack("<H", DATASET_PRESENT if has_dataset else NO_DATASET),
        0x00000900: struct.pack("<H", status),
    }
    if instance_uid:
        fields[0x00001000] = _uid_value(instance_uid)
    if comment:  # ErrorComment, LO: 64 characters at most
        raw = comment[:64].encode("ascii", errors="replace")
        fields[0x00000902] = raw + b" " if len(raw) % 2 else raw
    return command_set(fields)


@lru_cache(maxsize=64)
def c_find_rsp(message_id: int, sop_class_uid: str, status: int, has_identifier: bool) -> bytes:
    """A C-FIND-RSP command set."""
    return response(C_FIND_RSP, sop_class_uid, message_id, status, has_dataset=has_identifier)


def parse_command(raw: bytes) -> dict[int, bytes]:
    """A command set's elements as raw values by tag. Raises ValueError when malformed."""
    out, i = {}, 0
    while i < len(raw):
        if i + 8 > len(raw):
            raise ValueError("command set: truncated element header")
        group, element, length = struct.unpack_from("<HHI", raw, i)
        if group != 0x0000 or i + 8 + length > len(raw):
            raise ValueError(f"command set: element ({group:04X},{element:04X}) out of place or too long")
        out[element] = raw[i + 8:i + 8 + length]
        i += 8 + length
    return out


def command_us(command: Mapping[int, bytes], tag: int) -> int | None:
    raw = command.get(tag)
    return struct.unpack("<H", raw)[0] if raw is not None and len(raw) == 2 else None


def command_ui(command: Mapping[int, bytes], tag: int) -> str:
    return command.get(tag, b"").rstrip(b"\0 ").decode("ascii", errors="replace")


def p_data(context_id: int, payload: bytes, *, command: bool, max_pdu: int) -> bytes:
    """P-DATA-TF PDUs carrying ``payload`` in fragments that fit the peer's maximum length
    (0: no limit); one PDV per PDU, the last fragment flagged (PS3.8 section 9.3.5, annex E.2)."""
    room = max_pdu - 6 if max_pdu else len(payload) or 1
    if room < 1:
        raise Unencodable(f"maximum PDU length {max_pdu}")
    out = bytearray()
    chunks = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
    for n, chunk in enumerate(chunks):
        header = (0x01 if command else 0x00) | (0x02 if n == len(chunks) - 1 else 0x00)
        out += struct.pack(">BBIIBB", 0x04, 0, len(chunk) + 6, len(chunk) + 2, context_id, header) + chunk
    return bytes(out)


def pending_responses(items: Iterable[Mapping[str, mwl.Value]], *, message_id: int, sop_class_uid: str,
                      context_id: int, charset: str, implicit: bool, max_pdu: int) -> bytes:
    """Every C-FIND pending response (status FF00, one per item), framed and concatenated."""
    command = p_data(context_id, c_find_rsp(message_id, sop_class_uid, 0xFF00, True), command=True,
                     max_pdu=max_pdu)
    out = bytearray()
    for item in items:
        out += command
        out += p_data(context_id, identifier(item, charset, implicit=implicit), command=False, max_pdu=max_pdu)
    return bytes(out)


def little_endian(transfer_syntax: str) -> bool | None:
    """Whether the transfer syntax is implicit VR (True) or explicit VR (False) little endian;
    None for anything this module does not write."""
    return {"1.2.840.10008.1.2": True, "1.2.840.10008.1.2.1": False}.get(transfer_syntax)

