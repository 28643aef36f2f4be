"""The Curtois & Qu text format of shift scheduling instances: read, write; rosters as text.

An instance file is a list of sections (``SECTION_HORIZON``, ``SECTION_SHIFTS``,
``SECTION_STAFF``, ``SECTION_DAYS_OFF``, ``SECTION_SHIFT_ON_REQUESTS``,
``SECTION_SHIFT_OFF_REQUESTS``, ``SECTION_COVER``), each followed by comma-separated lines;
``#`` starts a comment, blank lines are ignored. Every refusal is a
:class:`~mutualis.domain.errors.ValidationError` whose problems name the section and the line.

A roster as text (:func:`dump_roster`): one line per member of staff, ``id`` then one field per
day, the shift id or nothing for a day off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from mutualis.domain.errors import Problem, ValidationError
from mutualis.engines.roster.instance import (
    OFF,
    Cover,
    DayOff,
    Roster,
    RosterInstance,
    ShiftRequest,
    ShiftType,
    Staff,
)

SECTIONS = ("SECTION_HORIZON", "SECTION_SHIFTS", "SECTION_STAFF", "SECTION_DAYS_OFF", "SECTION_SHIFT_ON_REQUESTS",
            "SECTION_SHIFT_OFF_REQUESTS", "SECTION_COVER")  # fmt: skip
FIELDS = {"SECTION_SHIFTS": 3, "SECTION_STAFF": 8, "SECTION_SHIFT_ON_REQUESTS": 4, "SECTION_SHIFT_OFF_REQUESTS": 4,
          "SECTION_COVER": 5}  # fmt: skip
T = TypeVar("T")


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def number(self, where: str, name: str, text: str, low: int = 0) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            self.fail(where, f"{name} {text.strip()!r} is not a whole number")
            return low
        if value < low:
            self.fail(where, f"{name} {value} is below {low}")
            return low
        return value


def _lines(text: str) -> tuple[dict[str, list[tuple[int, list[str]]]], list[Problem]]:
    """Data lines of each section as (line number, fields)."""
    out: dict[str, list[tuple[int, list[str]]]] = {}
    problems: list[Problem] = []
    current: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("SECTION_"):
            if line not in SECTIONS:
                problems.append(Problem(f"line {n}", f"unknown section {line}"))
                current = None
            elif line in out:
                problems.append(Problem(f"{line} line {n}", "section given twice"))
                current = None
            else:
                current = line
                out[current] = []
            continue
        if current is None:
            problems.append(Problem(f"line {n}", "data outside any section"))
            continue
        out[current].append((n, [f.strip() for f in line.split(",")]))
    return out, problems


def parse(text: str, name: str = "") -> RosterInstance:
    """Read an instance; raise :class:`ValidationError` listing every problem (section and line)."""
    sections, problems = _lines(text)
    r = _Reader()
    r.problems = problems
    for sec in ("SECTION_HORIZON", "SECTION_SHIFTS", "SECTION_STAFF"):
        if sec not in sections:
            r.fail(sec, "section missing")
    if r.problems:
        raise ValidationError(r.problems, f"instance {name or ''} refused".replace("  ", " "))
    horizon = sections["SECTION_HORIZON"]
    days = 0
    if len(horizon) != 1 or len(horizon[0][1]) != 1:
        r.fail(f"SECTION_HORIZON line {horizon[0][0] if horizon else '?'}", "expected one number of days")
    else:
        days = r.number(f"SECTION_HORIZON line {horizon[0][0]}", "horizon", horizon[0][1][0], low=1)

    def rows(sec: str, build: Callable[[str, list[str]], T | None]) -> list[T]:
        built: list[T] = []
        for n, fields in sections.get(sec, []):
            where = f"{sec} line {n}"
            want = FIELDS.get(sec)
            if want is not None and len(fields) != want:
                r.fail(where, f"{len(fields)} fields, expected {want}")
                continue
            item = build(where, fields)
            if item is not None:
                built.append(item)
        return built

    def shift(where: str, f: list[str]) -> ShiftType:
        forbidden = tuple(x.strip() for x in f[2].split("|") if x.strip())
        return ShiftType(f[0], r.number(where, "length", f[1], low=1), forbidden)

    shifts = rows("SECTION_SHIFTS", shift)
    shift_ids = {s.id for s in shifts}
    if len(shift_ids) != len(shifts):
        r.fail("SECTION_SHIFTS", "a shift id is given twice")
    for n, fields in sections["SECTION_SHIFTS"]:
        for t in (x.strip() for x in fields[2].split("|") if len(fields) == 3 and x.strip()):
            if t not in shift_ids:
                r.fail(f"SECTION_SHIFTS line {n}", f"unknown shift {t!r} among those that may not follow")

    def staff(where: str, f: list[str]) -> Staff:
        limits: list[tuple[str, int]] = []
        for part in (x for x in f[1].split("|") if x.strip()):
            sid, eq, value = part.partition("=")
            if not eq or sid.strip() not in shift_ids:
                r.fail(where, f"max shifts {part!r}: expected SHIFT=number with a known shift")
                continue
            limits.append((sid.strip(), r.number(where, f"max shifts of {sid.strip()}", value)))
        nums = [r.number(where, label, v) for label, v in zip(
            ("max total minutes", "min total minutes", "max consecutive shifts", "min consecutive shifts",
             "min consecutive days off", "max weekends"), f[2:], strict=True)]  # fmt: skip
        return Staff(f[0], tuple(limits), *nums)

    people = rows("SECTION_STAFF", staff)
    staff_ids = {p.id for p in people}
    if len(staff_ids) != len(people):
        r.fail("SECTION_STAFF", "a staff id is given twice")

    def day(where: str, text: str) -> int:
        d = r.number(where, "day", text)
        if d >= days:
            r.fail(where, f"day {d} is past the horizon of {days} days")
        return d

    def known(where: str, sid: str | None, eid: str | None) -> bool:
        ok = True
        if eid is not None and eid not in staff_ids:
            r.fail(where, f"unknown staff {eid!r}")
            ok = False
        if sid is not None and sid not in shift_ids:
            r.fail(where, f"unknown shift {sid!r}")
            ok = False
        return ok

    days_off: list[DayOff] = []
    for n, fields in sections.get("SECTION_DAYS_OFF", []):
        where = f"SECTION_DAYS_OFF line {n}"
        if known(where, None, fields[0]):
            days_off += [DayOff(fields[0], day(where, x)) for x in fields[1:] if x]

    def request(on: bool) -> Callable[[str, list[str]], ShiftRequest | None]:
        def build(where: str, f: list[str]) -> ShiftRequest | None:
            if not known(where, f[2], f[0]):
                return None
            return ShiftRequest(f[0], day(where, f[1]), f[2], r.number(where, "weight", f[3]), on)

        return build

    requests = rows("SECTION_SHIFT_ON_REQUESTS", request(True)) + rows("SECTION_SHIFT_OFF_REQUESTS", request(False))

    def cover(where: str, f: list[str]) -> Cover | None:
        if not known(where, f[1], None):
            return None
        return Cover(day(where, f[0]), f[1], *(r.number(where, label, v) for label, v in zip(
            ("requirement", "under weight", "over weight"), f[2:], strict=True)))  # fmt: skip

    covers = rows("SECTION_COVER", cover)
    if len({(c.day, c.shift) for c in covers}) != len(covers):
        r.fail("SECTION_COVER", "a (day, shift) cover is given twice")
    if r.problems:
        raise ValidationError(r.problems, f"instance {name} refused" if name else "instance refused")
    return RosterInstance(days, tuple(shifts), tuple(people), tuple(days_off), tuple(requests), tuple(covers), name)


def load(path: Path | str) -> RosterInstance:
    p = Path(path)
    return parse(p.read_text(encoding="utf-8"), p.stem)


def dump(inst: RosterInstance) -> str:
    """The instance in the same text format (``parse(dump(i)) == i`` up to the name)."""
    out = ["# Shift scheduling instance (Curtois & Qu format)", "SECTION_HORIZON", "# All instances start on a Monday",
           "# The horizon length in days:", str(inst.days), "", "SECTION_SHIFTS",
           "# ShiftID, Length in mins, Shifts which cannot follow this shift | separated"]  # fmt: skip
    out += [f"{s.id},{s.minutes},{'|'.join(s.forbidden_next)}" for s in inst.shifts]
    out += ["", "SECTION_STAFF", "# ID, MaxShifts, MaxTotalMinutes, MinTotalMinutes, MaxConsecutiveShifts, "
            "MinConsecutiveShifts, MinConsecutiveDaysOff, MaxWeekends"]  # fmt: skip
    out += [f"{p.id},{'|'.join(f'{s}={n}' for s, n in p.max_shifts)},{p.max_minutes},{p.min_minutes},"
            f"{p.max_consecutive},{p.min_consecutive},{p.min_days_off},{p.max_weekends}" for p in inst.staff]
    out += ["", "SECTION_DAYS_OFF", "# EmployeeID, DayIndexes (start at zero)"]
    by_staff: dict[str, list[int]] = {}
    for o in inst.days_off:
        by_staff.setdefault(o.staff, []).append(o.day)
    out += [",".join([sid, *map(str, ds)]) for sid, ds in by_staff.items()]
    for on, title in ((True, "SECTION_SHIFT_ON_REQUESTS"), (False, "SECTION_SHIFT_OFF_REQUESTS")):
        out += ["", title, "# EmployeeID, Day, ShiftID, Weight"]
        out += [f"{q.staff},{q.day},{q.shift},{q.weight}" for q in inst.requests if q.on == on]
    out += ["", "SECTION_COVER", "# Day, ShiftID, Requirement, Weight for under, Weight for over"]
    out += [f"{c.day},{c.shift},{c.requirement},{c.under_weight},{c.over_weight}" for c in inst.cover]
    return "\n".join(out) + "\n"


def dump_roster(inst: RosterInstance, roster: Sequence[Sequence[int]]) -> str:
    return "".join(",".join([p.id, *(inst.shifts[v].id if v != OFF else "" for v in row)]) + "\n"
                   for p, row in zip(inst.staff, roster, strict=True))  # fmt: skip


def parse_roster(inst: RosterInstance, text: str) -> Roster:
    sidx, eidx = inst.shift_index(), inst.staff_index()
    rows: list[tuple[int, ...] | None] = [None] * len(inst.staff)
    problems: list[Problem] = []
    for n, line in enumerate((x for x in text.splitlines() if x.strip()), start=1):
        fields = [f.strip() for f in line.split(",")]
        if fields[0] not in eidx or len(fields) != inst.days + 1 or any(f and f not in sidx for f in fields[1:]):
            problems.append(Problem(f"roster line {n}", "expected a known staff id then one known shift or nothing "
                                    f"per day ({inst.days} days)"))  # fmt: skip
            continue
        rows[eidx[fields[0]]] = tuple(sidx[f] if f else OFF for f in fields[1:])
    problems += [Problem("roster", f"no line for staff {p.id}") for p, row in zip(inst.staff, rows, strict=True)
                 if row is None]  # fmt: skip
    if problems:
        raise ValidationError(problems, "roster refused")
    return tuple(row for row in rows if row is not None)
