"""The communes shipped with Mutualis (INSEE COG 2021, populations légales 2019, centres from
geo.api.gouv.fr; see data/communes/README.md for sources and licence)."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

from mutualis.domain.territory import Commune


@cache
def load_communes() -> dict[str, Commune]:
    """Every shipped commune by INSEE code (read once per process, on first use)."""
    text = resources.files("mutualis").joinpath("data/communes/communes-12-86.csv").read_text("utf-8")
    return {
        row["insee"]: Commune(
            row["insee"], row["name"], row["department"], float(row["lat"]), float(row["lon"]), int(row["population"])
        )
        for row in csv.DictReader(io.StringIO(text))
    }
