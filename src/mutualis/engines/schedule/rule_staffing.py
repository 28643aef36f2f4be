"""Staffing: one radiographer per running machine, and a radiologist on site for the exams
that need one (the rule of engines/slots.py, see :mod:`.book`).

A site-day where it can bind (:meth:`.calendar.Calendar.ample` is false: fewer people for the
whole day than machines that may need them — a Saturday with one radiographer for three open
machines) gets a no-overlap constraint across all its machines (across the machines that may
run exams needing a radiologist, for radiologists), and starts that would overlap a fixed
appointment of another machine there are taken out of the domains. This is the rule exactly
when one person is present; with two or more but fewer than the machines it is stricter than
the rule (a plan it allows is lawful; some lawful plans are missed). Where staffing cannot
bind, nothing is added. Presence itself (one shift covering the exam) is in the start domains
(:mod:`.rule_hours`).

Day model: the minutes placed on the machines of each :class:`~.calendar.StaffRow` of a
site-day ≤ its capacity less what orders outside the model take there (the rows that may bind:
the site's radiographers, those of one modality's machines or of the machines open within a
window of the day, the radiologists).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST

if TYPE_CHECKING:
    from mutualis.engines.schedule.model import DayModel, TimedModel


def restrict(cal: Calendar, k: int, i: int, day: int, domain: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``domain`` (start slots) without the starts that overlap a fixed appointment of another
    machine of the site where staffing binds."""
    site, rad = cal.machines[i].site, cal.orders[k].needs_radiologist
    tight_rg = not cal.ample(site, day, RADIOGRAPHER)
    tight_rd = rad and not cal.ample(site, day, RADIOLOGIST)
    if not (tight_rg or tight_rd):
        return domain
    g, minutes = cal.g, cal.minutes(k)
    cuts = [(a, b) for j in cal.site_machines[site] if j != i for a, b, frad in cal.fixed.get((j, day), ())
            if tight_rg or frad]  # fmt: skip
    out = domain
    for a, b in cuts:  # a start s overlaps [a, b) when s·g < b and a < s·g + minutes
        lo, hi = (a - minutes) // g + 1, -(-b // g) - 1
        out = [r for lo_, hi_ in out for r in ((lo_, min(hi_, lo - 1)), (max(lo_, hi + 1), hi_)) if r[0] <= r[1]]
    return out


def add_day(dm: DayModel) -> None:
    cal = dm.cal
    load: dict[tuple[str, int], list[tuple[int, bool, cp_model.IntVar, int]]] = defaultdict(list)
    for k, opts in dm.options.items():
        for op in opts:
            load[cal.machines[op.machine].site, op.day].append(
                (op.machine, cal.orders[k].needs_radiologist, op.x, cal.minutes(k)))
    for (site, day), items in load.items():
        for row in cal.staff_rows(site, day):
            mine = [(x, m) for i, rad, x, m in items if row.takes(i, rad)]
            if mine:
                dm.capacity(mine, max(0, row.capacity - dm.taken_staff.get((site, day, row.kind), 0)))


def add_timed(tm: TimedModel) -> None:
    cal = tm.cal
    runs: dict[tuple[str, int, bool], list[cp_model.IntervalVar]] = defaultdict(list)
    for k, opts in tm.options.items():
        for op in opts:
            site = cal.machines[op.machine].site
            if not cal.ample(site, op.day, RADIOGRAPHER):
                runs[site, op.day, False].append(op.interval)
            if cal.orders[k].needs_radiologist and not cal.ample(site, op.day, RADIOLOGIST):
                runs[site, op.day, True].append(op.interval)
    for items in runs.values():
        if len(items) > 1:
            tm.model.add_no_overlap(items)
