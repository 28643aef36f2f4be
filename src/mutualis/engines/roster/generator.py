"""Seeded instances in the Curtois & Qu format at any size, lawful by construction.

:func:`generate` first plants a roster: for each member of staff, alternating stretches of work
(within ``[min, max]`` consecutive shifts) and days off (at least the minimum), each work
stretch on shifts that may follow one another; then it writes the contract around it (limits
per shift type, total minutes and weekends with some slack above and below what the planted
roster does — wider as the horizon grows, about one shift every other week for the minutes),
takes fixed days off among its days off, draws shift requests, and sets cover
requirements near the planted counts. The planted roster keeps every hard rule, so the instance
has a lawful roster (returned too); it is not meant to be optimal.

Shift types have start times and lengths (4 to 12 hours); ``t`` may not follow ``s`` when fewer
than 11 hours separate the end of ``s`` from the start of ``t`` the next day.
"""

from __future__ import annotations

import random

from mutualis.engines.roster.instance import (
    OFF,
    Cover,
    DayOff,
    Roster,
    RosterInstance,
    ShiftRequest,
    ShiftType,
    Staff,
    is_weekend,
)

REST_MIN = 11 * 60  # rest between the end of a shift and the start of the next day's one


def _shift_types(n: int, rng: random.Random) -> tuple[list[ShiftType], list[int]]:
    starts = [rng.choice(range(0, 24 * 60, 30)) for _ in range(n)]
    lengths = [rng.choice((240, 360, 420, 480, 480, 480, 600, 720)) for _ in range(n)]
    ids = [f"S{k:02d}" if n > 26 else chr(ord("A") + k) for k in range(n)]
    types = []
    for k in range(n):
        end = starts[k] + lengths[k]
        forbidden = tuple(ids[t] for t in range(n) if 24 * 60 + starts[t] - end < REST_MIN)
        types.append(ShiftType(ids[k], lengths[k], forbidden))
    return types, starts


def _plant(days: int, types: list[ShiftType], usable: list[int], most: int, least: int, rest: int,
           rng: random.Random) -> list[int]:  # fmt: skip
    """One member of staff's roster: alternating lawful stretches on the ``usable`` shift types."""
    row = [OFF] * days
    d = 0
    working = rng.random() < 0.6
    first = True
    while d < days:
        if working:
            length = rng.randint(1 if first else least, most)
            shift = rng.choice(usable)
            for t in range(d, min(days, d + length)):
                row[t] = shift
                if rng.random() < 0.3:  # change to a shift that may follow (itself always may: ≤ 12 h)
                    nxt = [u for u in usable if types[u].id not in types[shift].forbidden_next]
                    shift = rng.choice(nxt) if nxt else shift
        else:
            length = rng.randint(1 if first else rest, rest + 3)
        d += length
        working = not working
        first = False
    return row


def generate(weeks: int, staff: int, shifts: int, seed: int = 0) -> tuple[RosterInstance, Roster]:
    """A lawful-by-construction instance of ``weeks`` × ``staff`` × ``shifts``, and its planted roster."""
    rng = random.Random(seed)
    days = 7 * weeks
    types, _starts = _shift_types(shifts, rng)
    people: list[Staff] = []
    rows: list[list[int]] = []
    days_off: list[DayOff] = []
    requests: list[ShiftRequest] = []
    for k in range(staff):
        sid = f"E{k:03d}" if staff > 26 else chr(ord("A") + k)
        most, least, rest = rng.randint(4, 6), rng.randint(1, 2), rng.randint(1, 3)
        usable = sorted(rng.sample(range(shifts), max(1, min(shifts, rng.randint(1, 4)))))
        row = _plant(days, types, usable, most, least, rest, rng)
        rows.append(row)
        counts = {types[u].id: sum(1 for v in row if v == u) for u in range(shifts)}
        limits = tuple((s.id, counts[s.id] + rng.randint(0, max(3, counts[s.id] // 4))
                        if counts[s.id] or rng.random() < 0.5 else 0) for s in types)  # fmt: skip
        minutes = sum(types[v].minutes for v in row if v != OFF)
        weekends = len({d // 7 for d, v in enumerate(row) if v != OFF and is_weekend(d)})
        slack = 480 * max(1, weeks // 2)  # about an eight-hour shift every other week, each way at most
        people.append(Staff(sid, limits, minutes + rng.randint(0, slack), max(0, minutes - rng.randint(480, 2 * slack)),
                            most, least, rest, min(weeks, weekends + rng.randint(0, max(1, weeks // 8)))))  # fmt: skip
        off = [d for d, v in enumerate(row) if v == OFF]
        days_off += [DayOff(sid, d) for d in sorted(rng.sample(off, min(len(off), max(0, days // 14))))]
        fixed = {o.day for o in days_off if o.staff == sid}
        for _ in range(max(1, days // 5)):
            d = rng.randrange(days)
            if d in fixed:
                continue
            on = rng.random() < 0.5
            shift = row[d] if row[d] != OFF and rng.random() < 0.5 else rng.randrange(shifts)
            requests.append(ShiftRequest(sid, d, types[shift].id, rng.randint(1, 3), on))
    covers = []
    for d in range(days):
        for s in range(shifts):
            planted = sum(1 for row in rows if row[d] == s)
            need = max(0, planted + rng.choice((-1, 0, 0, 0, 1)))
            covers.append(Cover(d, types[s].id, need, 100, 1))
    unique = {(q.staff, q.day, q.shift, q.on): q for q in requests}.values()  # one of each
    requests = [q for q in unique if q.on] + [q for q in unique if not q.on]  # in the order of the file
    inst = RosterInstance(days, tuple(types), tuple(people), tuple(days_off), tuple(requests), tuple(covers),
                          f"generated-{weeks}w-{staff}x{shifts}-seed{seed}")  # fmt: skip
    return inst, tuple(tuple(r) for r in rows)
