import pytest

from mutualis.domain.territory import Commune, TravelSettings
from mutualis.engines.travel import GreatCircleEstimate, great_circle_km


def test_rodez_espalion(communes: dict[str, Commune]) -> None:
    km = great_circle_km(communes["12202"], communes["12096"])
    assert km == pytest.approx(25.0, abs=1.5)  # 44.3579,2.5693 → 44.5253,2.7673
    minutes = GreatCircleEstimate(TravelSettings(detour_factor=1.3, road_speed_kmh=60)).minutes(
        communes["12202"], communes["12096"])
    assert minutes == pytest.approx(km * 1.3, rel=1e-9)  # 60 km/h: one minute per km


def test_settings_change_the_estimate(communes: dict[str, Commune]) -> None:
    a, b = communes["86165"], communes["86194"]
    slow = GreatCircleEstimate(TravelSettings(1.4, 50)).minutes(a, b)
    fast = GreatCircleEstimate(TravelSettings(1.2, 80)).minutes(a, b)
    assert slow > fast > 0
    assert GreatCircleEstimate().minutes(a, a) == 0
