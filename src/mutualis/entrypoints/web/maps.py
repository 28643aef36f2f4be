"""Offline maps and charts for pages: SVG geometry computed from the shipped communes data
(no tile server). Pure presentation: positions in, drawing instructions out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

from mutualis.domain.territory import WEEKDAYS, Commune, Equipment, Territory
from mutualis.engines.travel import GreatCircleEstimate

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#0a7ea4", "#6e7781")
WEEKDAY_FR = {"mon": "lun.", "tue": "mar.", "wed": "mer.", "thu": "jeu.", "fri": "ven.", "sat": "sam.", "sun": "dim."}


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    title: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    colour: str
    site_id: str
    label: str
    detail: str


@dataclass(frozen=True)
class Link:
    x1: float
    y1: float
    x2: float
    y2: float
    minutes: int
    km: int


@dataclass(frozen=True)
class SiteMap:
    width: int
    height: int
    dots: tuple[Dot, ...]
    markers: tuple[Marker, ...]
    links: tuple[Link, ...]
    departments: tuple[str, ...]


def site_map(t: Territory, communes: Mapping[str, Commune], width: int = 720, margin: int = 36) -> SiteMap:
    """The territory's sites over the communes of their departments, with estimated travel times."""
    located = [(s, communes[s.insee]) for s in t.sites if s.insee in communes]
    departments = tuple(sorted({c.department for _, c in located}))
    background = [c for c in communes.values() if c.department in departments]
    points = background or [c for _, c in located]
    if not points:
        return SiteMap(width, 200, (), (), (), departments)
    lat_mid = math.radians(sum(c.lat for c in points) / len(points))

    def raw(c: Commune) -> tuple[float, float]:
        return c.lon * math.cos(lat_mid), -c.lat

    xs, ys = zip(*(raw(c) for c in points), strict=True)
    span_x, span_y = (max(xs) - min(xs)) or 0.1, (max(ys) - min(ys)) or 0.1
    scale = (width - 2 * margin) / span_x
    height = int(span_y * scale + 2 * margin)

    def project(c: Commune) -> tuple[float, float]:
        x, y = raw(c)
        return round(margin + (x - min(xs)) * scale, 1), round(margin + (y - min(ys)) * scale, 1)

    dots = tuple(
        Dot(
            *project(c),
            round(min(8.0, 1.1 + math.sqrt(c.population) / 30), 2),
            f"{c.name} ({c.population:,} hab.)".replace(",", "\u202f"),
        )
        for c in background
    )
    colours = {e.finess: PALETTE[i % len(PALETTE)] for i, e in enumerate(t.establishments)}
    names = {e.finess: e.name for e in t.establishments}
    markers = tuple(
        Marker(*project(c), colours[s.establishment], s.id, s.name, f"{c.name} — {names[s.establishment]}")
        for s, c in located
    )
    travel = GreatCircleEstimate(t.travel)
    links = []
    for (_, ca), (_, cb) in combinations(located, 2):
        (x1, y1), (x2, y2) = project(ca), project(cb)
        km = travel.minutes(ca, cb) * t.travel.road_speed_kmh / 60
        links.append(Link(x1, y1, x2, y2, round(travel.minutes(ca, cb)), round(km)))
    return SiteMap(width, height, dots, markers, tuple(links), departments)


@dataclass(frozen=True)
class HoursBar:
    day: str
    left: float  # percent of the drawn day
    width: float
    text: str


DAY_START, DAY_END = 6 * 60, 22 * 60


def week_bars(e: Equipment) -> list[tuple[str, list[HoursBar]]]:
    """Opening hours as bars on a 06:00–22:00 line per weekday (the page draws a small week)."""
    span = DAY_END - DAY_START
    rows = []
    for day in WEEKDAYS:
        bars = []
        for r in e.opening_hours.get(day, ()):
            start, end = max(r.start, DAY_START), min(r.end, DAY_END)
            if end > start:
                bars.append(HoursBar(day, 100 * (start - DAY_START) / span, 100 * (end - start) / span, str(r)))
        rows.append((WEEKDAY_FR[day], bars))
    return rows
