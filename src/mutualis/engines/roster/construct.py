"""A first lawful roster, one member of staff at a time (for instances too large to solve whole).

Every hard rule concerns one member of staff alone, so the roster is lawful as soon as each row
is. Staff are taken in turn (those with the fewest allowed cells first) and each row is built
**day by day** by :func:`greedy_row`, which keeps every hard rule by construction or by look-ahead:

- a stretch of work is only started when its shortest lawful length (``min_consecutive``, or up
  to the end of the horizon) fits — every one of those days has a shift that may follow the
  previous one, within the type limits, the minutes and the weekends left;
- a stretch ends at ``max_consecutive``; a stretch off lasts at least ``min_days_off``;
- the minutes follow a pace line towards a target inside ``[min_minutes, max_minutes]``, and
  work is forced when what is left to reach the minimum nears what the remaining days can give;
  weekends follow a pace line towards ``max_weekends``;
- among the lawful choices of a day, the one that helps the cover still needed (given the staff
  placed before) and the requests most.

A row that misses a rule anyway (in practice: the total minutes) is rebuilt with another target
and some noise, a few times; as a last resort one CP-SAT sub-model of that member of staff over
the whole horizon (:mod:`.model`) gets a few seconds, hinted with the nearest greedy row. A member
of staff for whom CP-SAT proves there is no roster makes the instance infeasible.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.roster.facts import Facts, IntArray
from mutualis.engines.roster.model import Region, build

Progress = Callable[[str, float], None]
TARGETS = (0.35, 0.55, 0.2, 0.75, 0.1, 0.9, 0.45, 0.65, 0.3, 0.05, 0.85, 0.5)  # share of [min, max] minutes aimed at
CPSAT_CAP_S = 4.0  # most seconds the CP-SAT fallback gets for one member of staff


class Infeasible(Exception):
    """No lawful roster exists for one member of staff."""

    def __init__(self, staff: str) -> None:
        self.staff = staff
        super().__init__(f"no lawful roster for staff {staff}")


def _weekend(d: int) -> int:
    """The weekend index of day ``d`` when it is a Saturday or Sunday, else -1."""
    return d // 7 if d % 7 in (5, 6) else -1


def greedy_row(f: Facts, e: int, gain: IntArray, rng: random.Random, target: float, noise: float
               ) -> tuple[list[int], int]:  # fmt: skip
    """Member of staff ``e``'s row built day by day, and how far it misses its minutes (0: lawful).

    ``gain[d, s]`` is what working shift ``s`` on day ``d`` is worth to the objective (cover still
    needed, requests); ``target`` places the aimed-at minutes in ``[min, max]``; ``noise`` blurs the
    choices (0: none).
    """
    D = f.D
    lens = [int(v) for v in f.minutes]
    cap = [int(v) for v in f.max_count[e]]
    forbid = f.forbid.tolist()
    lo, hi = int(f.min_minutes[e]), int(f.max_minutes[e])
    most, least, rest = int(f.max_cons[e]), max(1, int(f.min_cons[e])), max(1, int(f.min_off[e]))
    max_we = int(f.max_weekends[e])
    opts = [[int(s) for s in np.flatnonzero(f.allowed[e, d])] for d in range(D)]
    open_days = np.array([1 if o else 0 for o in opts], dtype=np.int64)
    open_after = np.concatenate([np.cumsum(open_days[::-1])[::-1], [0]])  # days with a shift from d on
    total_open = max(1, int(open_after[0]))
    usable = [s for s in range(f.S) if cap[s] > 0]
    if not usable:
        return [-1] * D, lo
    longest = max(lens[s] for s in usable)
    mean_len = sum(lens[s] for s in usable) / len(usable)
    goal = lo + target * (hi - lo)
    n_we = max(1, f.n_weekends)
    density = most / (most + rest)  # most days worked in a row over a long time
    g = gain.tolist()

    row = [-1] * D
    count = [0] * f.S
    minutes = 0
    weekends: set[int] = set()
    cur = -1  # yesterday's shift (-1 off; days before the horizon are off)
    run = 0  # length of the current stretch (work when cur >= 0)
    from_start = True  # the current stretch touches the start of the horizon

    def chain(d: int, prev: int, left: int, mins: int, used: dict[int, int], wk: set[int]) -> bool:
        """Days ``d .. d+left-1`` can all be worked after ``prev`` (within limits)."""
        if left == 0 or d >= D:
            return True
        w = _weekend(d)
        if w >= 0 and w not in weekends and w not in wk and len(weekends) + len(wk) >= max_we:
            return False
        order = sorted(opts[d], key=lambda s: (s != prev, lens[s]))
        for s in order:
            if forbid[prev][s] or count[s] + used.get(s, 0) >= cap[s] or mins + lens[s] > hi:
                continue
            used[s] = used.get(s, 0) + 1
            ok = chain(d + 1, s, left - 1, mins + lens[s], used, wk | ({w} if w >= 0 else set()))
            used[s] -= 1
            if ok:
                return True
        return False

    for d in range(D):
        w = _weekend(d)
        new_we = w >= 0 and w not in weekends
        # which choices keep the hard rules
        if cur >= 0:
            must_off = run >= most
            must_work = run < least and not from_start
        else:
            must_off = run < rest and not from_start and d > 0
            must_work = False
        choices: list[int] = []
        if not must_off:
            for s in opts[d]:
                if (cur >= 0 and forbid[cur][s]) or count[s] >= cap[s] or minutes + lens[s] > hi:
                    continue
                if new_we and len(weekends) >= max_we:
                    continue
                if cur < 0:  # a new stretch: its shortest lawful length must fit
                    need = 1 if d == 0 else min(least, D - d)
                    wk = {w} if w >= 0 else set()
                    if need > 1 and not chain(d + 1, s, need - 1, minutes + lens[s], {s: 1}, wk):
                        continue
                choices.append(s)
        if not choices:
            # when a stretch must go on, the look-ahead failed: it stops early and the row is checked
            cur, run, from_start = (-1, 1, False) if cur >= 0 else (-1, run + 1, from_start)
            continue
        # how much work the minutes call for
        short = lo - minutes  # still needed to reach the minimum
        capacity = density * int(open_after[d]) * longest
        pace = goal * (total_open - int(open_after[d + 1])) / total_open
        behind = pace - minutes
        best = max(choices, key=lambda s: g[d][s] + lens[s] * (1e-3 if behind > 0 else -1e-3)
                   + noise * rng.uniform(-1, 1) * 50)  # fmt: skip
        work = must_work or (not must_off and short > 0 and short >= 0.85 * capacity)
        if not work and not must_off:
            slack = 0.5 * mean_len if not new_we else 0.0
            if new_we and len(weekends) + 1 > max_we * (w + 1) / n_we + 1 and behind < 2 * mean_len:
                work = False  # ahead of the weekend pace
            else:  # behind the pace, or a useful shift without getting too far ahead of it
                work = behind + slack > 0 or (g[d][best] > 0 and minutes + lens[best] <= pace + 0.25 * (hi - goal)
                                              + mean_len)  # fmt: skip
            if noise and rng.random() < 0.05 * noise:
                work = not work
        if work:
            s = best
            row[d] = s
            count[s] += 1
            minutes += lens[s]
            if w >= 0:
                weekends.add(w)
            if cur >= 0:
                run += 1
            else:
                run, from_start = 1, d == 0
            cur = s
        else:
            if cur >= 0:
                cur, run, from_start = -1, 1, False
            else:
                run += 1
    miss = max(0, lo - minutes) + max(0, minutes - hi)
    return row, miss


def _row_lawful(f: Facts, e: int, row: list[int]) -> bool:
    from mutualis.engines.roster.validate import staff_problems

    return not staff_problems(f.inst, e, row)


def _gain(f: Facts, e: int, cover: IntArray) -> IntArray:
    need = np.where(f.has_cover, np.where(cover < f.req, f.under_w, -f.over_w), 0)
    out: IntArray = (need + f.on_w[e] - f.off_w[e]).astype(np.int64)
    return out


def _cpsat_row(f: Facts, R: IntArray, e: int, hint: list[int], limit: float, seed: int, workers: int) -> str:
    """Staff ``e``'s row by CP-SAT (written into ``R``): OK, INFEASIBLE or UNKNOWN."""
    R[e] = hint
    model = build(f, R, Region((e,), 0, f.D))
    R[e] = -1
    solver = cpsat.solver(limit, workers, seed)
    status = solver.solve(model.model)
    if status == cp_model.INFEASIBLE:
        return "INFEASIBLE"
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "UNKNOWN"
    model.read(solver, R)
    return "OK"


def construct(f: Facts, deadline: float, *, seed: int = 0, workers: int = 2,
              progress: Progress | None = None) -> IntArray | None:  # fmt: skip
    """A lawful roster, or None when the time ran out first; raises :class:`Infeasible`."""
    rng = random.Random(seed)
    R = np.full((f.E, f.D), -1, dtype=np.int64)
    cover = np.zeros((f.D, f.S), dtype=np.int64)
    order = sorted(range(f.E), key=lambda e: int(f.allowed[e].sum()))
    for n, e in enumerate(order):
        if time.monotonic() >= deadline:
            return None
        gain = _gain(f, e, cover)
        nearest: tuple[int, list[int]] | None = None
        for k, target in enumerate(TARGETS):
            row, miss = greedy_row(f, e, gain, rng, target, 0.0 if k < 4 else min(1.0, 0.2 * (k - 3)))
            if miss == 0 and _row_lawful(f, e, row):
                break
            if nearest is None or miss < nearest[0]:
                nearest = (miss, row)
            if time.monotonic() >= deadline:
                return None
        else:
            assert nearest is not None
            left = deadline - time.monotonic()
            share = min(CPSAT_CAP_S, max(0.5, left / (f.E - n)))
            status = _cpsat_row(f, R, e, nearest[1], min(left, share), seed + n, workers)
            if status == "UNKNOWN":  # one more try, longer
                status = _cpsat_row(f, R, e, nearest[1], min(deadline - time.monotonic(), 4 * share), seed + n,
                                    workers)  # fmt: skip
            if status == "INFEASIBLE":
                raise Infeasible(f.inst.staff[e].id)
            if status == "UNKNOWN":
                return None
            row = R[e].tolist()
        R[e] = row
        for d, s in enumerate(row):
            if s >= 0:
                cover[d, s] += 1
        if progress is not None:
            progress("first roster", (n + 1) / f.E)
    return R
