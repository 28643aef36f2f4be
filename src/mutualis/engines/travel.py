"""Travel time between a patient's commune and a site.

:class:`TravelTimes` is the port; :class:`GreatCircleEstimate` is the default adapter, an
**estimate**: great-circle distance × a detour factor ÷ an average road speed (both
settings of the territory; defaults 1.3 and 60 km/h, assumptions for rural roads). A routing
engine (OSRM, Valhalla…) can plug in behind the same port later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from mutualis.domain.territory import Commune, TravelSettings

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def great_circle_km(a: Commune, b: Commune) -> float:
    """Haversine distance between two communes' centres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


class TravelTimes(Protocol):
    def minutes(self, origin: Commune, destination: Commune) -> float: ...


@dataclass(frozen=True)
class GreatCircleEstimate:
    settings: TravelSettings = field(default_factory=TravelSettings)

    def minutes(self, origin: Commune, destination: Commune) -> float:
        km = great_circle_km(origin, destination) * self.settings.detour_factor
        return km / self.settings.road_speed_kmh * 60.0
