"""A plan being built: placements per machine and day, and the staffing rule of
engines/slots.py checked as each one is added.

Staffing, the rule engines/slots.py states ("one radiographer per running machine"): for a
placement p of site S, the radiographers whose one shift covers all of p must outnumber the
other machines of S busy at some time during p; if p needs a radiologist on site, the
radiologists covering p must outnumber the other machines of S running an exam that needs one
during p (machines, not bookings: a 20-minute scan overlapping three 10-minute X-rays in a
row on one room counts one, as ``_Staff.ok`` does). The rule holds for **every** placement of
the plan against all the others (fixed appointments included), whatever the order they were
added in: adding p re-checks the placements p overlaps. Fixed appointments take staff but are not re-checked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from mutualis.engines.schedule.calendar import Calendar, Span, subtract
from mutualis.engines.schedule.instance import Placement
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST


class Item(NamedTuple):
    machine: int
    start: int
    end: int
    radiologist: bool
    order: int  # -1: a fixed appointment
    radiographers: int  # present for all of [start, end)
    radiologists: int


class Book:
    """Placements of a plan, with the fixed appointments of the instance taken as given."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.busy: dict[tuple[int, int], list[Span]] = defaultdict(list)  # plan placements per machine-day
        self.items: dict[tuple[str, int], list[Item]] = defaultdict(list)  # per site-day, fixed included
        self.where: dict[int, tuple[int, int, int]] = {}  # order → (machine, day, start)
        self._gaps: dict[tuple[int, int, bool], list[Span]] = {}
        for (i, day), fixed in cal.fixed.items():
            site = cal.machines[i].site
            for a, b, rad in fixed:
                self.items[site, day].append(self._item(i, day, a, b, rad, -1))

    def _item(self, i: int, day: int, start: int, end: int, rad: bool, k: int) -> Item:
        site = self.cal.machines[i].site
        return Item(i, start, end, rad, k, self.cal.present(site, day, RADIOGRAPHER, start, end),
                    self.cal.present(site, day, RADIOLOGIST, start, end))  # fmt: skip

    # ------------------------------------------------------------ staffing

    def staff_ok(self, k: int, i: int, day: int, start: int) -> bool:
        """Whether order ``k`` at ``start`` on machine ``i`` keeps the staffing rule for itself
        and for every plan placement it overlaps."""
        cal = self.cal
        site = cal.machines[i].site
        rad = cal.orders[k].needs_radiologist
        end = start + cal.minutes(k)
        me = self._item(i, day, start, end, rad, k)
        if me.radiographers < 1 or (rad and me.radiologists < 1):
            return False
        check_rg = not self.cal.ample(site, day, RADIOGRAPHER)
        check_rd = rad and not self.cal.ample(site, day, RADIOLOGIST)
        if not (check_rg or check_rd):
            return True
        items = self.items[site, day]
        others = [q for q in items if q.machine != i and q.start < end and start < q.end]
        if check_rg and me.radiographers <= len({q.machine for q in others}):
            return False
        if check_rd and me.radiologists <= len({q.machine for q in others if q.radiologist}):
            return False
        for q in others:
            if q.order < 0:
                continue
            around = [x for x in items if x.machine != q.machine and x.start < q.end and q.start < x.end]
            if check_rg and q.radiographers <= len({x.machine for x in around} | {i}):
                return False
            if check_rd and q.radiologist and q.radiologists <= len(
                    {x.machine for x in around if x.radiologist} | {i}):
                return False
        return True

    # ------------------------------------------------------------ placing

    def gaps(self, i: int, day: int, rad: bool) -> list[Span]:
        """Where an exam may run on machine ``i`` that day, plan placements taken out."""
        key = (i, day, rad)
        found = self._gaps.get(key)
        if found is None:
            busy = self.busy.get((i, day), [])
            segs = self.cal.segments(i, day, rad)
            found = self._gaps[key] = [x for seg in segs for x in subtract([seg], busy)] if busy else list(segs)
        return found

    def earliest(self, k: int, i: int, day: int, after: int = 0) -> int | None:
        """The earliest lawful start of order ``k`` on machine ``i`` that day, at or after ``after``."""
        cal, g = self.cal, self.cal.g
        rd, rmin = cal.release[k]
        if day < rd or day >= cal.days:
            return None
        lower = max(after, rmin if day == rd else 0)
        minutes = cal.minutes(k)
        best: int | None = None
        for a, b in self.gaps(i, day, cal.orders[k].needs_radiologist):
            s = -(-max(a, lower) // g) * g
            while s + minutes <= b and (best is None or s < best):
                if self.staff_ok(k, i, day, s):
                    best = s
                    break
                s += g
        return best

    def place(self, k: int, i: int, day: int, start: int) -> None:
        cal = self.cal
        end = start + cal.minutes(k)
        self.busy[i, day].append((start, end))
        self.busy[i, day].sort()
        self.items[cal.machines[i].site, day].append(self._item(i, day, start, end, cal.orders[k].needs_radiologist, k))
        self.where[k] = (i, day, start)
        self._gaps.pop((i, day, False), None)
        self._gaps.pop((i, day, True), None)

    def remove(self, k: int) -> None:
        i, day, start = self.where.pop(k)
        end = start + self.cal.minutes(k)
        self.busy[i, day].remove((start, end))
        site_items = self.items[self.cal.machines[i].site, day]
        site_items[:] = [q for q in site_items if q.order != k]
        self._gaps.pop((i, day, False), None)
        self._gaps.pop((i, day, True), None)

    def plan(self) -> tuple[Placement, ...]:
        cal = self.cal
        return tuple(sorted(Placement(cal.orders[k].id, cal.machines[i].id, d, s)
                            for k, (i, d, s) in self.where.items()))  # fmt: skip

    def load(self, plan: tuple[Placement, ...] | list[Placement]) -> None:
        """Add a plan's placements without checking them (validate.py checks plans)."""
        for p in plan:
            self.place(self.cal.o[p.order], self.cal.m[p.machine], p.day, p.minute)
