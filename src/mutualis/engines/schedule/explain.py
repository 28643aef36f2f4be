"""Why an order moved: each change of the proposal against the reference plan (the current
appointments, and the first available slot for orders not booked yet), as a code and its
parameters, so that a page renders it in French and this module in English.

Codes:
- ``placed`` (site, date): the reference plan had no slot for it;
- ``unplaced``: the proposal has none (only when the horizon is full);
- ``moved_site`` (site, from_site, extra_minutes, days_sooner): another site; extra_minutes
  < 0 is less driving, days_sooner < 0 is later;
- ``meets_due_date`` (days, due): earlier, and now on time where it was late;
- ``earlier`` (days): earlier at the same site;
- ``later_within_due`` (days, due): later, still by its due date, so that a more pressing exam
  takes its slot;
- ``later_late`` (days, due): later and after its due date (traded against worse lateness
  elsewhere);
- ``same_day`` (time, before): the same day and site, another time or machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement


@dataclass(frozen=True)
class Explanation:
    code: str
    params: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        p = self.params
        if self.code == "placed":
            return f"placed at {p['site']} on {p['date']}: no slot in the current plan"
        if self.code == "unplaced":
            return "left unplaced: no lawful slot within the horizon"
        if self.code == "moved_site":
            drive = int(p["extra_minutes"])
            days = int(p["days_sooner"])
            when = f"{_days(days)} sooner" if days > 0 else f"{_days(-days)} later" if days < 0 else "the same day"
            more = f"{drive} min more driving" if drive >= 0 else f"{-drive} min less driving"
            return f"moved to {p['site']} (from {p['from_site']}): {more}, {when}"
        if self.code == "meets_due_date":
            return f"moved earlier by {_days(p['days'])} to meet its due date ({p['due']})"
        if self.code == "earlier":
            return f"moved earlier by {_days(p['days'])}"
        if self.code == "later_within_due":
            return (f"moved later by {_days(p['days'])}, still by its due date ({p['due']}), to free its slot for a "
                    "more pressing exam")
        if self.code == "later_late":
            return (f"moved later by {_days(p['days'])}, after its due date ({p['due']}), to avoid worse delays "
                    "elsewhere")
        if self.code == "same_day":
            return f"same day, at {p['time']} instead of {p['before']}"
        return self.code


@dataclass(frozen=True)
class Change:
    order: str
    before: Placement | None
    after: Placement | None
    explanation: Explanation


def _days(n: str | int) -> str:
    return "1 day" if int(n) == 1 else f"{n} days"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def explain(cal: Calendar, before: Placement | None, after: Placement | None) -> Explanation:
    inst = cal.inst

    def site(p: Placement) -> str:
        sid = cal.machines[cal.m[p.machine]].site
        return inst.sites.get(sid, sid)

    if before is None and after is not None:
        return Explanation("placed", {"site": site(after), "date": inst.date_of(after.day).isoformat()})
    if after is None or before is None:
        return Explanation("unplaced")
    k = cal.o[after.order]
    order = cal.orders[k]
    due = order.due.isoformat()
    s_before, s_after = cal.machines[cal.m[before.machine]].site, cal.machines[cal.m[after.machine]].site
    if s_before != s_after:
        extra = inst.travel[order.commune, s_after] - inst.travel[order.commune, s_before]
        return Explanation("moved_site", {"site": site(after), "from_site": site(before), "extra_minutes": extra,
                                          "days_sooner": before.day - after.day})  # fmt: skip
    late_before, late_after = before.day > cal.due_day[k], after.day > cal.due_day[k]
    if after.day < before.day:
        days = before.day - after.day
        return Explanation("meets_due_date" if late_before and not late_after else "earlier",
                           {"days": days, "due": due})  # fmt: skip
    if after.day > before.day:
        return Explanation("later_late" if late_after else "later_within_due",
                           {"days": after.day - before.day, "due": due})  # fmt: skip
    return Explanation("same_day", {"time": _hhmm(after.minute), "before": _hhmm(before.minute)})


def changes(cal: Calendar, reference: tuple[Placement, ...], proposal: tuple[Placement, ...]) -> tuple[Change, ...]:
    ref = {p.order: p for p in reference}
    new = {p.order: p for p in proposal}
    out = []
    for o in cal.orders:
        a, b = ref.get(o.id), new.get(o.id)
        if a != b:
            out.append(Change(o.id, a, b, explain(cal, a, b)))
    return tuple(out)
