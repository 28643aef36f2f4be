"""The protocol library and the volumes as the pages show them, in French: labels, dates, the
version timeline, and the geometry of the volumes bar chart (inline SVG, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mutualis.domain.protocols import Protocol, ProtocolVersion, version_state
from mutualis.domain.territory import Territory
from mutualis.services.protocols import Acknowledgements
from mutualis.services.volumes import SiteVolumes

KIND_FR = {"care": "soins", "imaging": "imagerie"}
PLATFORM_FR = {"theatre": "bloc opératoire", "imaging": "imagerie", "endoscopy": "endoscopie",
               "consultation": "consultation"}  # fmt: skip
STATE_FR = {"in_force": "en vigueur", "upcoming": "à venir", "superseded": "remplacée"}
CATEGORY_FR = {"total": "Toutes les exérèses", "oesophagus": "Œsophage", "liver": "Foie",
               "stomach": "Estomac", "pancreas": "Pancréas", "rectum": "Rectum"}  # fmt: skip
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")  # fmt: skip


def date_fr(d: date) -> str:
    return f"{d.day}{'er' if d.day == 1 else ''} {MONTHS_FR[d.month - 1]} {d.year}"


def when_fr(dt: datetime, t: Territory) -> str:
    local = dt.astimezone(ZoneInfo(t.timezone))
    return f"{date_fr(local.date())} à {local:%H:%M}"


def activity_fr(t: Territory, code: str) -> str:
    if code in PLATFORM_FR:
        return PLATFORM_FR[code]
    return next((x.label for x in t.exams if x.code == code), code)


def establishment_fr(t: Territory, finess: str) -> str:
    return next((e.name for e in t.establishments if e.finess == finess), finess)


@dataclass(frozen=True)
class TimelineItem:
    version: ProtocolVersion
    state: str  # in_force | upcoming | superseded
    starts: date
    acks: Acknowledgements | None
    mine: bool  # the viewer has acknowledged it
    can_ack: bool  # the viewer may acknowledge it now


def timeline(t: Territory, p: Protocol, acks: dict[int, Acknowledgements], today: date, rpps: str | None
             ) -> list[TimelineItem]:  # fmt: skip
    """The versions, newest first, with their state today and the viewer's acknowledgement."""
    tz = ZoneInfo(t.timezone)
    current = p.in_force(today, tz)
    out = []
    for v in sorted(p.versions, key=lambda x: -x.version):
        state = version_state(v, current, today, tz)
        a = acks.get(v.version)
        mine = bool(rpps and a and any(x.rpps == rpps for x, _ in a.acknowledged))
        concerned = bool(rpps and a and (mine or any(x.rpps == rpps for x in a.pending)))
        out.append(TimelineItem(v, state, v.starts(tz), a, mine, concerned and not mine and state != "superseded"))
    return out


# --- the volumes chart: per site, one row per category, three bars (performed, planned,
# projected) drawn relative to the category's threshold, so that every row's threshold line is
# at the same abscissa.

LABEL_W = 230  # the category names, left of the bars
BAR_W = 440  # the bars' area
THRESHOLD_X = LABEL_W + BAR_W * 2 / 3  # the threshold line, in every row
BAR_H, BAR_GAP, ROW_GAP = 13, 3, 16
ROW_H = 3 * BAR_H + 2 * BAR_GAP + ROW_GAP
CHART_W = LABEL_W + BAR_W + 60  # room for the figures after the bars
BARS = (("performed", "réalisées"), ("planned", "programmées"), ("projected", "projection fin d'année"))


@dataclass(frozen=True)
class Bar:
    kind: str  # performed | planned | projected
    label: str
    value: float
    text: str
    x: float
    y: float
    width: float
    clipped: bool  # longer than the drawing: cut at its edge


@dataclass(frozen=True)
class ChartRow:
    category: str
    label: str
    threshold: int
    meets: bool
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class SiteChart:
    site: str
    name: str
    width: int
    height: int
    threshold_x: float
    rows: tuple[ChartRow, ...]


def _figure(v: float) -> str:
    return f"{v:.1f}".replace(".", ",") if v != int(v) else str(int(v))


def site_chart(s: SiteVolumes) -> SiteChart:
    rows = []
    for i, v in enumerate(s.volumes):
        y0 = 20 + i * ROW_H
        unit = (THRESHOLD_X - LABEL_W) / v.threshold
        bars = []
        for j, (kind, label) in enumerate(BARS):
            value = float(getattr(v, kind))
            width = value * unit
            bars.append(Bar(kind, label, value, _figure(value), LABEL_W, y0 + j * (BAR_H + BAR_GAP),
                            round(min(width, BAR_W), 1), width > BAR_W))  # fmt: skip
        rows.append(ChartRow(v.category, CATEGORY_FR[v.category], v.threshold, v.meets, y0, tuple(bars)))
    return SiteChart(s.site, s.name, CHART_W, int(20 + len(rows) * ROW_H), round(THRESHOLD_X, 1), tuple(rows))
