"""The hand-written worklist encoder against pydicom's decoder: same values back, every PDU well
framed, and what it cannot write refused before anything is sent."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from pynetdicom.dsutils import decode

from mutualis.adapters.dicom import wire
from mutualis.adapters.dicom.scp import to_item

ITEM = {
    "PatientName": "DUPRÉ^Hélène",  # odd length in UTF-8: padded with a space
    "PatientID": "2610312096123",
    "StudyInstanceUID": "2.25.1234567",  # odd: padded with NUL
    "AccessionNumber": "",
    "ScheduledProcedureStepSequence": [{
        "Modality": "MR",
        "ScheduledStationAETitle": "RDZ_IRM1",
        "ScheduledProtocolCodeSequence": [{"CodeValue": "ZBQK002", "CodingSchemeDesignator": "CCAM"}],
    }],
    "RequestedProcedureCodeSequence": [],
}


@pytest.mark.parametrize("implicit", [True, False])
@pytest.mark.parametrize("charset", ["ISO_IR 192", "ISO_IR 100"])
def test_identifier_decodes_to_the_same_values(implicit: bool, charset: str) -> None:
    raw = wire.identifier(ITEM, charset, implicit=implicit)
    assert len(raw) % 2 == 0
    ds = decode(BytesIO(raw), implicit, True)
    assert ds.SpecificCharacterSet == charset
    assert to_item(ds) == ITEM
    tags = [int(e.tag) for e in ds]
    assert tags == sorted(tags)
    if charset == "ISO_IR 100":
        assert "DUPRÉ".encode("latin-1") in raw


def test_explicit_vr_headers() -> None:
    raw = wire.identifier({"PatientName": "A^B"}, "ISO_IR 192", implicit=False)
    # (0008,0005) CS, short length; (0010,0010) PN, short length
    assert raw[:8] == struct.pack("<HH2sH", 0x0008, 0x0005, b"CS", 10)
    assert raw[18:26] == struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 4)


def test_c_find_rsp_command_set() -> None:
    raw = wire.c_find_rsp(7, "1.2.840.10008.5.1.4.31", 0xFF00, True)
    cmd = decode(BytesIO(raw), True, True)
    assert cmd.CommandGroupLength == len(raw) - 12
    assert (cmd.CommandField, cmd.MessageIDBeingRespondedTo, cmd.Status) == (0x8020, 7, 0xFF00)
    assert cmd.CommandDataSetType == 0x0000 and cmd.AffectedSOPClassUID == "1.2.840.10008.5.1.4.31"


def _pdvs(stream: bytes) -> list[tuple[int, int, bytes, int]]:
    """(context id, control header, fragment, PDU length) of each P-DATA-TF PDU."""
    out, i = [], 0
    while i < len(stream):
        kind, _, length = struct.unpack(">BBI", stream[i:i + 6])
        assert kind == 0x04
        pdv_len, cx, header = struct.unpack(">IBB", stream[i + 6:i + 12])
        assert pdv_len == length - 4
        out.append((cx, header, stream[i + 12:i + 6 + length], length))
        i += 6 + length
    return out


def test_p_data_fragments_fit_the_peer_and_flag_the_last() -> None:
    payload = bytes(range(256)) * 40  # 10,240 bytes
    pdvs = _pdvs(wire.p_data(3, payload, command=False, max_pdu=4096))
    assert all(length <= 4096 for *_, length in pdvs)
    assert b"".join(f for _, _, f, _ in pdvs) == payload
    assert [h for _, h, _, _ in pdvs] == [0, 0, 2] and {cx for cx, *_ in pdvs} == {3}
    (single,) = _pdvs(wire.p_data(1, b"\x00" * 10, command=True, max_pdu=0))
    assert single[1] == 3  # command, last fragment


def test_pending_responses_pair_a_command_with_each_identifier() -> None:
    stream = wire.pending_responses([ITEM, ITEM], message_id=2, sop_class_uid="1.2.840.10008.5.1.4.31",
                                    context_id=5, charset="ISO_IR 192", implicit=True, max_pdu=16384)
    headers = [h for _, h, _, _ in _pdvs(stream)]
    assert headers == [3, 2, 3, 2]


def test_what_cannot_be_written_is_refused() -> None:
    with pytest.raises(wire.Unencodable):
        wire.identifier({"PatientName": "X"}, "ISO 2022 IR 87", implicit=True)
    with pytest.raises(wire.Unencodable):
        wire.identifier({"NumberOfFrames": "1", "Rows": "512"}, "", implicit=True)  # US value
    with pytest.raises(wire.Unencodable):
        wire.identifier({"NotAKeyword": "x"}, "", implicit=True)
    assert wire.little_endian("1.2.840.10008.1.2.2") is None  # explicit VR big endian
