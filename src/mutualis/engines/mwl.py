"""Modality Worklist matching, as DICOM PS3.4 C.2.2.2 and annex K say, on plain values.

A worklist item and a query are nested mappings ``keyword → value`` where a value is a string
(as encoded in DICOM, multi-values joined by ``\\``) or, for a sequence, a list of such
mappings. The DICOM adapter converts datasets to this form and back; this module has no I/O.

Matching kinds (C.2.2.2.1–C.2.2.2.6), chosen by the key's VR and the query value:
- universal: a zero-length query value matches every item;
- single value: exact, except PN which matches case-insensitively (C.2.2.2.1 allows it);
- wildcard: ``*`` (any run) and ``?`` (one character) in AE, CS, LO, LT, PN, SH, ST, UC, UT;
- UID list: a backslash-separated list of UIDs matches any of them;
- range: ``a-b``, ``a-`` and ``-b`` for DA, TM and DT; a date range and a time range on
  ScheduledProcedureStepStartDate/Time combine into one date-time range (C.2.2.2.5.1);
- sequence: an item of a query sequence matches when any item of the candidate's sequence
  matches all its keys (C.2.2.2.6); an empty query sequence is universal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Union

Value = Union[str, Sequence["Mapping[str, Value]"]]  # noqa: UP007 - a recursive alias needs the string form
Item = Mapping[str, Value]

VR: Mapping[str, str] = {
    "PatientName": "PN", "PatientID": "LO", "IssuerOfPatientID": "LO", "PatientBirthDate": "DA",
    "PatientSex": "CS", "OtherPatientIDs": "LO", "PatientWeight": "DS", "PatientSize": "DS",
    "AccessionNumber": "SH", "StudyInstanceUID": "UI", "RequestedProcedureID": "SH",
    "RequestedProcedureDescription": "LO", "RequestedProcedurePriority": "SH", "RequestingPhysician": "PN",
    "ReferringPhysicianName": "PN", "AdmissionID": "LO", "InstitutionName": "LO",
    "ReasonForTheRequestedProcedure": "LO",
    "ScheduledProcedureStepSequence": "SQ", "ScheduledStationAETitle": "AE", "ScheduledProcedureStepStartDate": "DA",
    "ScheduledProcedureStepStartTime": "TM", "Modality": "CS", "ScheduledPerformingPhysicianName": "PN",
    "ScheduledProcedureStepDescription": "LO", "ScheduledProcedureStepID": "SH", "ScheduledStationName": "SH",
    "ScheduledProcedureStepLocation": "SH", "ScheduledProcedureStepStatus": "CS", "PreMedication": "LO",
    "RequestedContrastAgent": "LO", "ScheduledProtocolCodeSequence": "SQ", "CodeValue": "SH",
    "CodingSchemeDesignator": "SH", "CodeMeaning": "LO", "ReferencedStudySequence": "SQ",
    "RequestedProcedureCodeSequence": "SQ", "PatientTransportArrangements": "LO", "CurrentPatientLocation": "LO",
}
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})


@lru_cache(maxsize=1024)
def _pattern(value: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in value)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if fold else 0))


def _normal_time(value: str) -> str:
    """HHMMSS.FFFFFF padded so that times compare as strings (``"0930"`` → ``"093000.000000"``)."""
    value = value.replace(":", "")
    whole, _, frac = value.partition(".")
    return whole.ljust(6, "0") + "." + frac.ljust(6, "0")


def _in_range(candidate: str, query: str, vr: str) -> bool:
    low, _, high = query.partition("-")
    if vr == "TM":
        candidate, low, high = _normal_time(candidate), low and _normal_time(low), high and _normal_time(high)
    return (not low or candidate >= low) and (not high or candidate <= high)


def match_value(query: str, candidate: str, vr: str) -> bool:
    """Whether one attribute's value matches (C.2.2.2.1–C.2.2.2.5)."""
    if query == "" or query == "*":
        return True
    if vr in RANGE_VRS and "-" in query:
        return candidate != "" and _in_range(candidate, query, vr)
    if vr == "UI" and "\\" in query:
        return candidate in query.split("\\")
    if vr == "TM":
        return candidate != "" and _normal_time(candidate) == _normal_time(query)
    if vr in WILDCARD_VRS and ("*" in query or "?" in query):
        return bool(_pattern(query, vr == "PN").match(candidate))
    if vr == "PN":
        return query.casefold() == candidate.casefold()
    return query == candidate


def _datetime_range(query: Item) -> tuple[str, str] | None:
    """The combined date-time range of SPS start date and time when both are ranges (C.2.2.2.5.1)."""
    date, time = query.get("ScheduledProcedureStepStartDate"), query.get("ScheduledProcedureStepStartTime")
    if not (isinstance(date, str) and isinstance(time, str) and "-" in date and "-" in time):
        return None
    d_low, _, d_high = date.partition("-")
    t_low, _, t_high = time.partition("-")
    low = d_low + _normal_time(t_low) if d_low else ""
    high = d_high + _normal_time(t_high or "235959.999999") if d_high else ""
    return low, high


def matches(query: Item, item: Item) -> bool:
    """Whether ``item`` matches every key of ``query`` (unknown keys match universally)."""
    combined = _datetime_range(query)
    for key, wanted in query.items():
        vr = VR.get(key)
        if vr is None or wanted == "":
            continue
        have = item.get(key, "")
        if vr == "SQ":
            if isinstance(wanted, str) or not wanted:
                continue
            candidates = () if isinstance(have, str) else have
            if not any(all(matches(q, c) for q in wanted) for c in candidates):
                return False
            continue
        if not isinstance(wanted, str) or not isinstance(have, str):
            return False
        if combined and key in ("ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime"):
            continue
        if not match_value(wanted, have, vr):
            return False
    if combined is not None:
        low, high = combined
        stamp = str(item.get("ScheduledProcedureStepStartDate", "")) + _normal_time(
            str(item.get("ScheduledProcedureStepStartTime", "")))
        if (low and stamp < low) or (high and stamp > high):
            return False
    return True


def response(query: Item, item: Item) -> dict[str, Value]:
    """The return keys the query asked for, filled from ``item`` or zero-length when it has none."""
    out: dict[str, Value] = {}
    for key, wanted in query.items():
        have = item.get(key)
        if VR.get(key) == "SQ" or not isinstance(wanted, str):
            templates = () if isinstance(wanted, str) else wanted
            items = () if have is None or isinstance(have, str) else have
            if not templates:
                out[key] = [dict(i) for i in items]
            else:
                out[key] = [response(templates[0], i) for i in items if all(matches(q, i) for q in templates)]
        else:
            out[key] = have if isinstance(have, str) else ""
    return out


def search(query: Item, items: Sequence[Item]) -> list[dict[str, Value]]:
    return [response(query, item) for item in items if matches(query, item)]
