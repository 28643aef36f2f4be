"""Rosters as the pages show them, in French: month grids (people × days), month calendars (one
person, one site, the on-call rota) and the counters against the legal limits."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from mutualis.domain.rosters import ON_CALL, ShiftDefinition, ShiftKind
from mutualis.services.rosters import RosterView

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")  # fmt: skip
DAYS_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
PROFESSION_FR = {"radiologist": "Radiologues", "radiographer": "Manipulateurs (MERM)"}
KIND_CLASS = {ShiftKind.DAY: "poste-site", ShiftKind.REMOTE: "poste-distance", ShiftKind.NIGHT_ON_CALL: "poste-nuit",
              ShiftKind.WEEKEND_ON_CALL: "poste-garde"}  # fmt: skip


def month_fr(first: date) -> str:
    return f"{MONTHS_FR[first.month - 1]} {first.year}"


def month_of(text: str, today: date) -> date:
    """``AAAA-MM`` → the first of that month (today's month when empty or malformed)."""
    try:
        y, m = (int(x) for x in text.split("-")[:2])
        return date(y, m, 1)
    except ValueError:
        return today.replace(day=1)


def month_days(first: date) -> int:
    return calendar.monthrange(first.year, first.month)[1]


def hhmm(minute: int) -> str:
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def short(s: ShiftDefinition, sites: dict[str, str]) -> str:
    """A cell's text: ``J Rodez``, ``Télé``, ``Nuit``…"""
    if s.kind is ShiftKind.NIGHT_ON_CALL:
        return "Nuit"
    if s.kind is ShiftKind.WEEKEND_ON_CALL:
        return "Garde"
    if s.kind is ShiftKind.REMOTE:  # the default shifts: screening second reading, remote MRI reading
        return {"L2": "L2", "TELE-IRM": "Télé IRM"}.get(s.code, "Télé")
    prefix = s.code.split("-")[0]
    name = sites.get(s.site or "", "")
    town = name.split("(")[-1].rstrip(")") if "(" in name else name.replace("CH de ", "").replace("CH d'", "")
    return f"{prefix} {town}"[:16]


@dataclass
class Cell:
    text: str = ""
    css: str = ""
    title: str = ""


@dataclass
class Row:
    rpps: str
    name: str
    profession: str
    cells: list[Cell]
    hours: float
    nights: int
    weekend_days: int


@dataclass
class Grid:
    days: list[tuple[date, str, bool]]  # day, label, weekend
    groups: list[tuple[str, list[Row]]] = field(default_factory=list)


def grid(v: RosterView) -> Grid:
    """People × days of the view, grouped by profession, leave shown."""
    sites = {s.id: s.name for s in v.territory.sites}
    days = [v.first + timedelta(days=n) for n in range(v.days)]
    shift_of = {(e.rpps, e.day): v.shifts.get(e.shift) for e in v.entries}
    out = Grid([(d, f"{DAYS_FR[d.weekday()][0].upper()}{d.day}", d.weekday() >= 5) for d in days])
    for profession in ("radiologist", "radiographer"):
        rows = []
        for p in sorted((p for p in v.people if p.profession == profession), key=lambda p: p.name.split()[-1]):
            cells = []
            for d in days:
                s = shift_of.get((p.rpps, d))
                on_leave = any(x.rpps == p.rpps and x.covers(d) and x.status.value == "approved" for x in v.leave)
                if s is not None:
                    cells.append(Cell(short(s, sites), KIND_CLASS[s.kind], f"{s.label} {hhmm(s.start_min)}–"
                                                                           f"{hhmm(s.end_min)}"))
                elif on_leave:
                    cells.append(Cell("Congé", "poste-conge", "congé"))
                else:
                    cells.append(Cell("", "poste-repos", "repos"))
            c = v.counters.get(p.rpps)
            rows.append(Row(p.rpps, p.name, profession, cells, round(c.weekly_hours, 1) if c else 0.0,
                            c.nights if c else 0, c.weekend_days if c else 0))  # fmt: skip
        if rows:
            out.groups.append((PROFESSION_FR[profession], rows))
    return out


@dataclass
class DayBox:
    day: date | None
    items: list[tuple[str, str, str]] = field(default_factory=list)  # text, css, title


def month_calendar(first: date, boxes: dict[date, list[tuple[str, str, str]]]) -> list[list[DayBox]]:
    """Weeks (Monday first) of the month starting ``first``, each day with its items."""
    weeks: list[list[DayBox]] = []
    week: list[DayBox] = [DayBox(None) for _ in range(first.weekday())]
    for n in range(month_days(first)):
        d = first + timedelta(days=n)
        week.append(DayBox(d, boxes.get(d, [])))
        if len(week) == 7:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [DayBox(None) for _ in range(7 - len(week))])
    return weeks


def person_calendar(v: RosterView, rpps: str) -> list[list[DayBox]]:
    sites = {s.id: s.name for s in v.territory.sites}
    boxes: dict[date, list[tuple[str, str, str]]] = defaultdict(list)
    for e in v.entries:
        if e.rpps == rpps:
            s = v.shifts[e.shift]
            where = sites.get(s.site or "", "à distance" if s.kind is ShiftKind.REMOTE else "territoire")
            boxes[e.day].append((f"{s.label} · {hhmm(s.start_min)}–{hhmm(s.end_min)}", KIND_CLASS[s.kind], where))
    for x in v.leave:
        if x.rpps == rpps:
            for n in range((x.last - x.first).days + 1):
                d = x.first + timedelta(days=n)
                state = "accordé" if x.status.value == "approved" else "demandé"
                boxes[d].append((f"Congé ({state})", "poste-conge", x.reason))
    return month_calendar(v.first, boxes)


def site_calendar(v: RosterView, site: str) -> list[list[DayBox]]:
    names = {p.rpps: p.name for p in v.people}
    boxes: dict[date, list[tuple[str, str, str]]] = defaultdict(list)
    for e in sorted(v.entries, key=lambda e: (e.day, v.shifts[e.shift].profession, e.shift)):
        s = v.shifts[e.shift]
        if s.site == site:
            boxes[e.day].append((f"{names.get(e.rpps, e.rpps)} · {s.label.split(' ')[0]}", KIND_CLASS[s.kind],
                                 f"{s.label} {hhmm(s.start_min)}–{hhmm(s.end_min)}"))  # fmt: skip
    return month_calendar(v.first, boxes)


def on_call_calendar(v: RosterView) -> list[list[DayBox]]:
    names = {p.rpps: p.name for p in v.people}
    boxes: dict[date, list[tuple[str, str, str]]] = defaultdict(list)
    for e in sorted(v.entries, key=lambda e: (e.day, v.shifts[e.shift].start_min)):
        s = v.shifts[e.shift]
        if s.kind in ON_CALL:
            label = "Nuit" if s.kind is ShiftKind.NIGHT_ON_CALL else "Jour"
            boxes[e.day].append((f"{label} : {names.get(e.rpps, e.rpps)}", KIND_CLASS[s.kind],
                                 f"{s.label} {hhmm(s.start_min)}–{hhmm(s.end_min)}"))  # fmt: skip
    return month_calendar(v.first, boxes)
