import pytest

from mutualis.domain.identifiers import (
    check_ccam,
    check_finess,
    check_insee,
    check_nir,
    check_rpps,
    luhn_key,
    nir_key,
)


@pytest.mark.parametrize("finess", ["750712184", "330781196", "120000013"])  # AP-HP, CHU de Bordeaux, test
def test_valid_finess(finess: str) -> None:
    assert check_finess(finess) is None


def test_finess_key_and_format_errors() -> None:
    assert "key" in (check_finess("750712185") or "")
    assert "9 characters" in (check_finess("75071218") or "")
    assert "9 characters" in (check_finess("7507121X4") or "")


def test_corsican_finess_counts_2a_as_21() -> None:
    body = "2A000001"
    key = luhn_key("21000001")
    assert check_finess(body + key) is None
    assert check_finess(body + str((int(key) + 1) % 10)) is not None


def test_rpps() -> None:
    assert check_rpps("10000000017") is None
    assert "key" in (check_rpps("10000000018") or "")
    assert "11 digits" in (check_rpps("20000000017") or "")
    assert "11 digits" in (check_rpps("1000000001") or "")


def test_nir_key_of_a_published_example() -> None:
    assert nir_key("2550814168025") == "38"
    assert check_nir("2 55 08 14 168 025 38") is None
    assert "expected 38" in (check_nir("255081416802539") or "")


def test_nir_corsica_uses_19_and_18() -> None:
    first = "1800 52A" .replace(" ", "") + "004012"  # born May 1980 in Corse-du-Sud
    key = f"{97 - int(first.replace('2A', '19')) % 97:02d}"
    assert check_nir(first + key) is None
    assert check_nir(first.replace("2A", "2B") + key) is not None


def test_ccam_and_insee_formats() -> None:
    assert check_ccam("ZBQK002") is None
    assert check_ccam("ZBQK02") is not None
    assert check_insee("12202") is None and check_insee("2A004") is None
    assert check_insee("1220") is not None
