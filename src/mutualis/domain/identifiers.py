"""French health identifiers: FINESS, RPPS, NIR/INS, CCAM, INSEE commune codes.

Each ``check_*`` returns ``None`` when the value is valid, or the reason it is not, in words
a user can act on. The keys:

- FINESS: 9 characters, department (2 digits, ``2A``/``2B`` for Corsica) then 7 digits, the
  last a Luhn key over the 9 characters (Corsica's ``2A``/``2B`` count as ``21``/``22``).
- RPPS: 11 digits starting with 1, the last a Luhn key.
- NIR (and INS, which uses it): 13 characters then a 2-digit key = 97 − (number mod 97);
  Corsica's department ``2A``/``2B`` count as 19/18 in the number.
- CCAM: 4 letters and 3 digits (e.g. ``ZBQK002``).
"""

from __future__ import annotations

import re

_FINESS_RE = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
_RPPS_RE = re.compile(r"^1\d{10}$")
_NIR_RE = re.compile(r"^[12378]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$")
_CCAM_RE = re.compile(r"^[A-Z]{4}\d{3}$")
_INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_key(digits: str) -> str:
    """The Luhn check digit to append to ``digits``."""
    for key in "0123456789":
        if luhn_is_valid(digits + key):
            return key
    raise AssertionError("unreachable: one Luhn key always fits")


def check_finess(value: str) -> str | None:
    if not _FINESS_RE.match(value):
        return "a FINESS number is 9 characters: 2-digit department (2A/2B for Corsica) and 7 digits"
    if not luhn_is_valid(value.replace("2A", "21", 1).replace("2B", "22", 1)):
        return "invalid FINESS key (Luhn check digit)"
    return None


def check_rpps(value: str) -> str | None:
    if not _RPPS_RE.match(value):
        return "an RPPS number is 11 digits starting with 1"
    if not luhn_is_valid(value):
        return "invalid RPPS key (Luhn check digit)"
    return None


def nir_key(first13: str) -> str:
    """The 2-digit key of a NIR whose first 13 characters are given."""
    number = int(first13.replace("2A", "19", 1).replace("2B", "18", 1))
    return f"{97 - number % 97:02d}"


def check_nir(value: str) -> str | None:
    compact = value.replace(" ", "")
    if not _NIR_RE.match(compact):
        return "a NIR/INS is 13 characters (sex, year, month, department, commune, order) and a 2-digit key"
    if nir_key(compact[:13]) != compact[13:]:
        return f"invalid NIR key (expected {nir_key(compact[:13])})"
    return None


def check_ccam(value: str) -> str | None:
    return None if _CCAM_RE.match(value) else "a CCAM code is 4 capital letters and 3 digits"


def check_insee(value: str) -> str | None:
    return None if _INSEE_RE.match(value) else "an INSEE commune code is 5 characters"
