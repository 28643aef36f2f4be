"""What an instance allows before anything is placed, computed once and shared by the baseline,
the validator and every model: open ranges per machine and day (closures cut out), presence
per site and day, the windows an exam may start in, costs, and the capacities of the
day-level relaxation.

Rules read here, as in engines/slots.py: a placement [s, e) on machine m of site S on day d
lies in one opening range of m that day (or in the overtime allowance after the last one),
in no closure, after the order's earliest start, and **one** radiographer shift at S covers
all of [s, e) (one radiologist shift too when the exam needs a radiologist on site).
Who else runs at the same time is checked by :mod:`.book`.

Costs (see :class:`~.instance.ScheduleWeights`) of order o on machine m (site S) on day d:
    late(o) × max(0, d − max(due, first)) + wait(o) × (d − first)
    + travel × (minutes(o, S) − nearest(o))
where ``first`` is the first day o could be done on an empty calendar and ``nearest`` its
shortest drive to a capable site: what no plan avoids is not counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mutualis.engines.schedule.instance import ScheduleInstance, ScheduleOrder
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST

Span = tuple[int, int]


def subtract(spans: Iterable[Span], cuts: Iterable[Span]) -> list[Span]:
    """``spans`` minus ``cuts`` (both lists of [a, b) minute ranges)."""
    out: list[Span] = []
    cuts = sorted(cuts)
    for a, b in sorted(spans):
        cursor = a
        for c, e in cuts:
            if e <= cursor or c >= b:
                continue
            if c > cursor:
                out.append((cursor, c))
            cursor = max(cursor, e)
            if cursor >= b:
                break
        if cursor < b:
            out.append((cursor, b))
    return out


def intersect(spans: Iterable[Span], window: Span) -> list[Span]:
    return [(max(a, window[0]), min(b, window[1])) for a, b in spans if a < window[1] and window[0] < b]


class Calendar:
    """Static facts of ``inst``: index with ``self.m[...]`` / ``self.o[...]`` positions."""

    def __init__(self, inst: ScheduleInstance) -> None:
        self.inst = inst
        self.g = inst.slot_min
        self.days = inst.days
        self.machines = inst.machines
        self.orders = inst.orders
        self.m = {m.id: i for i, m in enumerate(inst.machines)}
        self.o = {o.id: i for i, o in enumerate(inst.orders)}
        self.site_machines: dict[str, list[int]] = defaultdict(list)
        for i, mach in enumerate(inst.machines):
            self.site_machines[mach.site].append(i)
        self.shifts: dict[tuple[str, int, str], list[Span]] = defaultdict(list)
        for s in inst.shifts:
            day = (s.day - inst.start).days
            if 0 <= day < self.days:
                self.shifts[s.site, day, s.role].append((s.start_min, s.end_min))
        self.fixed: dict[tuple[int, int], list[tuple[int, int, bool]]] = defaultdict(list)
        for f in inst.fixed:
            if f.machine in self.m and 0 <= f.day < self.days:
                self.fixed[self.m[f.machine], f.day].append((f.minute, f.end, f.needs_radiologist))
        self.open = [[self._open(i, d) for d in range(self.days)] for i in range(len(self.machines))]
        self.regular_end = [[max((b for _, b in self.ranges(i, d)), default=0) for d in range(self.days)]
                            for i in range(len(self.machines))]  # fmt: skip
        self.free = [[subtract(self.open[i][d], [(a, b) for a, b, _ in self.fixed[i, d]]) for d in range(self.days)]
                     for i in range(len(self.machines))]  # fmt: skip
        self._segments: dict[tuple[int, int, bool], list[Span]] = {}
        self._latest: dict[tuple[int, int, bool, int], int] = {}
        self._rows: dict[tuple[str, int], list[StaffRow]] = {}
        self._capacity: dict[tuple[int, int, int], int] = {}
        by_exam: dict[tuple[str, str], tuple[int, ...]] = {}
        for o in self.orders:
            if (o.modality, o.exam) not in by_exam:
                by_exam[o.modality, o.exam] = tuple(i for i, mach in enumerate(self.machines) if mach.can_do(o))
        self.capable = [by_exam[o.modality, o.exam] for o in self.orders]
        self.radiologist_machines = {i for k, o in enumerate(self.orders) if o.needs_radiologist
                                     for i in self.capable[k]} | {i for (i, _), fx in self.fixed.items()
                                                                  if any(rad for _, _, rad in fx)}  # fmt: skip
        self._ample: dict[tuple[str, int, str], bool] = {}
        self.release = [self._release(o) for o in self.orders]
        self.due_day = [(o.due - inst.start).days for o in self.orders]
        self.first_day = [self._first_day(k) for k in range(len(self.orders))]
        tr = inst.travel
        self.nearest = [min((tr[o.commune, self.machines[i].site] for i in c), default=0)
                        for o, c in zip(self.orders, self.capable, strict=True)]  # fmt: skip
        self.farthest = [max((tr[o.commune, self.machines[i].site] for i in c), default=0)
                         for o, c in zip(self.orders, self.capable, strict=True)]  # fmt: skip

    # ------------------------------------------------------------ hours and presence

    def ranges(self, i: int, day: int) -> list[Span]:
        weekday = self.inst.date_of(day).weekday()
        ranges = sorted(self.machines[i].hours[weekday])
        if ranges and self.inst.overtime_min > 0:
            a, b = ranges[-1]
            ranges[-1] = (a, min(1440, b + self.inst.overtime_min))
        return ranges

    def _open(self, i: int, day: int) -> list[Span]:
        midnight = self.inst.instant(day, 0)
        cuts = []
        for c0, c1 in self.machines[i].closures:
            a = (c0 - midnight).total_seconds() // 60
            b = -(-(c1 - midnight).total_seconds() // 60)
            if a < 1440 and b > 0:
                cuts.append((max(0, int(a)), min(1440, int(b))))
        return subtract(self.ranges(i, day), cuts)

    def present(self, site: str, day: int, role: str, start: int, end: int) -> int:
        """People of ``role`` whose one shift covers all of [start, end) (engines/slots.py)."""
        return sum(1 for a, b in self.shifts.get((site, day, role), ()) if a <= start and end <= b)

    def segments(self, i: int, day: int, needs_radiologist: bool) -> list[Span]:
        """Free ranges of machine ``i`` (fixed appointments out) each inside one radiographer
        shift (and one radiologist shift): an exam starts and ends inside one of them."""
        key = (i, day, needs_radiologist)
        found = self._segments.get(key)
        if found is None:
            site = self.machines[i].site
            found = [w for span in self.shifts.get((site, day, RADIOGRAPHER), ())
                     for w in intersect(self.free[i][day], span)]  # fmt: skip
            if needs_radiologist:
                found = [x for span in self.shifts.get((site, day, RADIOLOGIST), ()) for x in intersect(found, span)]
            found = self._segments[key] = sorted(set(found))
        return found

    def latest(self, i: int, day: int, needs_radiologist: bool, minutes: int) -> int:
        """The latest start on the slot grid for an exam of ``minutes`` on machine ``i`` that day
        on an otherwise empty calendar; -1 when there is none."""
        key = (i, day, needs_radiologist, minutes)
        found = self._latest.get(key)
        if found is None:
            g, found = self.g, -1
            for a, b in self.segments(i, day, needs_radiologist):
                s = (b - minutes) // g * g
                if s >= a and s + minutes <= b:
                    found = max(found, s)
            self._latest[key] = found
        return found

    def ample(self, site: str, day: int, role: str) -> bool:
        """Whether staffing can never bind at ``site`` that day for ``role``: as many people
        present for the whole day as machines that may need them (open radiographer machines;
        for radiologists, machines that may run an exam needing one)."""
        key = (site, day, role)
        found = self._ample.get(key)
        if found is None:
            machines = [i for i in self.site_machines[site] if self.open[i][day]]
            if role == RADIOLOGIST:
                machines = [i for i in machines if i in self.radiologist_machines]
            opened = [span for i in machines for span in self.open[i][day]]
            if not opened:
                found = True
            else:
                lo, hi = min(a for a, _ in opened), max(b for _, b in opened)
                shifts = self.shifts.get((site, day, role), ())
                found = sum(1 for a, b in shifts if a <= lo and hi <= b) >= len(machines)
            self._ample[key] = found
        return found

    # ------------------------------------------------------------ orders

    def _release(self, o: ScheduleOrder) -> Span:
        day, minute = self.inst.day_minute(o.not_before)
        minute = -(-minute // self.g) * self.g
        if minute >= 1440:
            day, minute = day + 1, 0
        return (0, 0) if day < 0 else (day, minute)

    def minutes(self, k: int) -> int:
        return self.orders[k].duration * self.g

    def feasible(self, k: int, i: int, day: int) -> bool:
        """Order ``k`` fits somewhere on machine ``i`` that day on an empty calendar."""
        rd, rmin = self.release[k]
        if day < rd or day >= self.days:
            return False
        last = self.latest(i, day, self.orders[k].needs_radiologist, self.minutes(k))
        return last >= (rmin if day == rd else 0)

    def _first_day(self, k: int) -> int:
        for day in range(self.release[k][0], self.days):
            if any(self.feasible(k, i, day) for i in self.capable[k]):
                return day
        return self.days

    def options(self, k: int, days: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """(machine, day) pairs where order ``k`` could go on an empty calendar."""
        span = range(self.release[k][0], self.days) if days is None else days
        return [(i, d) for i in self.capable[k] for d in span if self.feasible(k, i, d)]

    # ------------------------------------------------------------ costs

    def day_cost(self, k: int, day: int) -> int:
        o, w, first = self.orders[k], self.inst.weights, self.first_day[k]
        return w.wait(o.priority) * max(0, day - first) + w.late(o.priority) * max(0, day - max(first, self.due_day[k]))

    def travel_cost(self, k: int, i: int) -> int:
        minutes = self.inst.travel[self.orders[k].commune, self.machines[i].site]
        return self.inst.weights.travel_per_minute * (minutes - self.nearest[k])

    def cost(self, k: int, i: int, day: int) -> int:
        return self.day_cost(k, day) + self.travel_cost(k, i)

    def unplaced_cost(self, k: int) -> int:
        w = self.inst.weights
        return (self.day_cost(k, self.days - 1 + w.unplaced_days)
                + w.travel_per_minute * (self.farthest[k] - self.nearest[k]))  # fmt: skip

    def overtime(self, i: int, day: int, end: int) -> int:
        return max(0, end - self.regular_end[i][day]) if self.inst.overtime_min > 0 else 0

    # ------------------------------------------------------------ relaxation capacities

    def capacity(self, i: int, day: int, at_least: int = 0) -> int:
        """Minutes machine ``i`` can give that day: free and with a radiographer present; with
        ``at_least``, only in free stretches that long (an exam of 20 minutes has no use for a
        10-minute gap between two fixed appointments)."""
        key = (i, day, at_least)
        found = self._capacity.get(key)
        if found is None:
            stretches = _union(self.segments(i, day, False))
            g = self.g
            found = self._capacity[key] = sum(
                max(0, b // g * g - -(-a // g) * g) for a, b in stretches if b // g * g - -(-a // g) * g >= at_least)
        return found

    def staff_rows(self, site: str, day: int) -> list[StaffRow]:
        """The staff capacities that may bind at ``site`` that day (see :class:`StaffRow`): the
        radiographers of the site, of each modality's machines, of the machines open only inside
        a window [a, b) of the day's openings, and the radiologists."""
        key = (site, day)
        found = self._rows.get(key)
        if found is None:
            found = self._rows[key] = self._staff_rows(site, day)
        return found

    def _staff_rows(self, site: str, day: int) -> list[StaffRow]:
        machines = [i for i in self.site_machines[site] if self.open[i][day]]
        if not machines:
            return []
        everything = frozenset(machines)
        whole = self._staff_capacity(site, day, everything, False)
        subsets: dict[frozenset[int], str] = {everything: "rg"}
        for modality in sorted({self.machines[i].modality for i in machines}):
            same = frozenset(i for i in machines if self.machines[i].modality == modality)
            subsets.setdefault(same, f"rg:{modality}")
        starts = sorted({a for i in machines for a, _ in self.open[i][day]})
        ends = sorted({b for i in machines for _, b in self.open[i][day]})
        for a in starts:
            for b in ends:
                inside = frozenset(i for i in machines if all(a <= x and y <= b for x, y in self.open[i][day]))
                if a < b and inside:
                    subsets.setdefault(inside, f"rg:{a}-{b}")
        rows = []
        for members, kind in subsets.items():  # kept when below its machines' own capacity (and the site's)
            cap = whole if members == everything else self._staff_capacity(site, day, members, False)
            limit = sum(self.capacity(i, day) for i in members)
            if cap < (limit if members == everything else min(limit, whole)):
                rows.append(StaffRow(kind, members, False, cap))
        rad = frozenset(i for i in machines if i in self.radiologist_machines)
        if rad:
            cap = self._staff_capacity(site, day, everything, True)
            if cap < sum(self.capacity(i, day) for i in rad):
                rows.append(StaffRow("rd", everything, True, cap))
        return rows

    def _staff_capacity(self, site: str, day: int, machines: frozenset[int], radiologist: bool) -> int:
        """An upper bound on the exam-minutes ``machines`` of ``site`` can add that day:
        ∫ min(P − F, free machines among them) dt, P the people present (radiographers, or
        radiologists for exams that need one), F the fixed appointments of the site running
        (that need one). Valid because under the staffing rule the exams running at any
        instant never outnumber the people present, nor the machines."""
        role = RADIOLOGIST if radiologist else RADIOGRAPHER
        events: list[tuple[int, int, int]] = []  # (minute, which, +1/-1); which: 0 P, 1 F, 2 free machine
        for a, b in self.shifts.get((site, day, role), ()):
            events += [(a, 0, 1), (b, 0, -1)]
        for i in self.site_machines[site]:
            for a, b, rad in self.fixed[i, day]:
                if rad or not radiologist:
                    events += [(a, 1, 1), (b, 1, -1)]
            if i in machines:
                for a, b in self.free[i][day]:
                    events += [(a, 2, 1), (b, 2, -1)]
        events.sort()
        count, total, last = [0, 0, 0], 0, 0
        for minute, which, step in events:
            total += (minute - last) * max(0, min(count[0] - count[1], count[2]))
            count[which] += step
            last = minute
        return total


@dataclass(frozen=True)
class StaffRow:
    """A staff capacity of a site-day: the exam-minutes on ``machines`` (of exams that need a
    radiologist, when ``radiologist``) ≤ ``capacity``. With one radiographer on a Saturday, the
    X-ray rooms and scanners open 08:30–12:30 cannot get more than those four hours however long
    the MRI stays open."""

    kind: str
    machines: frozenset[int]
    radiologist: bool
    capacity: int

    def takes(self, machine: int, radiologist: bool) -> bool:
        return machine in self.machines and (radiologist or not self.radiologist)


def _union(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def measure(spans: Sequence[Span]) -> int:
    total, cursor = 0, -1
    for a, b in sorted(spans):
        a = max(a, cursor)
        if b > a:
            total, cursor = total + b - a, b
    return total
