"""The two CP-SAT models the rule modules fill, with named variables so a solution explains
itself (``x[o12@rodez-irm#3]`` is order o12 on the Rodez MRI on day 3).

- :class:`DayModel` — the day-level problem: a Boolean per (order, machine, day) option and
  one per order left unplaced; capacities in minutes (see :mod:`.relax`).
- :class:`TimedModel` — the exact problem over chosen site-days: per option a presence
  Boolean, a start on the slot grid and an optional interval.

Both are built the same way: options → ``rule_capability`` (one option per order, or
unplaced) → ``rule_hours`` → ``rule_overlap`` → ``rule_staffing`` → ``objective``. Orders not in
the model keep their place; what they take is given as ``taken`` (day model) or is simply
absent from the site-days the timed model covers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.schedule import objective, rule_capability, rule_hours, rule_overlap, rule_staffing
from mutualis.engines.schedule.calendar import Calendar
from mutualis.engines.schedule.instance import Placement


@dataclass
class Outcome:
    status: str
    objective: float
    bound: float
    wall_s: float


@dataclass
class DayOption:
    order: int
    machine: int
    day: int
    x: cp_model.IntVar


@dataclass
class DayModel:
    cal: Calendar
    options: dict[int, list[DayOption]] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)  # room of each capacity row
    uses: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # x's index → (row, minutes)
    unplaced: dict[int, cp_model.IntVar] = field(default_factory=dict)
    taken_machine: Mapping[tuple[int, int], int] = field(default_factory=dict)  # (machine, day) → minutes
    taken_staff: Mapping[tuple[str, int, str], int] = field(default_factory=dict)  # (site, day, staff kind)
    taken_late: Mapping[tuple[int, int], list[tuple[int, float]]] = field(default_factory=dict)  # (earliest, minutes)
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)

    @classmethod
    def build(cls, cal: Calendar, options: Mapping[int, Sequence[tuple[int, int]]],
              taken_machine: Mapping[tuple[int, int], int] | None = None,
              taken_staff: Mapping[tuple[str, int, str], int] | None = None,
              taken_late: Mapping[tuple[int, int], list[tuple[int, float]]] | None = None) -> DayModel:
        """``taken_*``: minutes used by the orders outside the model, per machine-day, per
        site-day, and per machine-day by the orders requested that day (with their earliest start)."""
        dm = cls(cal, taken_machine=taken_machine or {}, taken_staff=taken_staff or {}, taken_late=taken_late or {})
        for k, opts in options.items():
            oid = cal.orders[k].id
            dm.options[k] = [DayOption(k, i, d, dm.model.new_bool_var(f"x[{oid}@{cal.machines[i].id}#{d}]"))
                             for i, d in opts]  # fmt: skip
            dm.unplaced[k] = dm.model.new_bool_var(f"unplaced[{oid}]")
        for rule in (rule_capability, rule_hours, rule_overlap, rule_staffing, objective):
            rule.add_day(dm)
        return dm

    def capacity(self, items: Sequence[tuple[cp_model.IntVar, int]], room: int) -> None:
        """Σ minutes × x ≤ room, remembered so that :meth:`greedy` can respect it."""
        row = len(self.rows)
        self.rows.append(room)
        for x, minutes in items:
            self.uses.setdefault(x.index, []).append((row, minutes))
        self.model.add(cp_model.LinearExpr.weighted_sum([x for x, _ in items], [m for _, m in items]) <= room)

    def greedy(self, prefer: Mapping[int, Sequence[tuple[int, int]]],
               confidence: Mapping[int, float] | None = None) -> dict[int, tuple[int, int]]:
        """A solution that keeps every capacity row: orders by ``confidence`` (an LP value: the
        orders the LP places whole first), then the most pressing first; each on its first
        preferred option that still fits, else its cheapest one that fits, else unplaced."""
        cal, room = self.cal, list(self.rows)
        out: dict[int, tuple[int, int]] = {}
        sure = confidence or {}
        order = sorted(self.options, key=lambda k: (-round(sure.get(k, 0.0), 3),
                                                     -cal.inst.weights.late(cal.orders[k].priority),
                                                     cal.due_day[k], cal.release[k]))  # fmt: skip
        for k in order:
            by_place = {(op.machine, op.day): op for op in self.options[k]}
            ranked = [by_place[p] for p in prefer.get(k, ()) if p in by_place]
            ranked += sorted(self.options[k], key=lambda op: cal.cost(k, op.machine, op.day))
            for op in ranked:
                uses = self.uses.get(op.x.index, [])
                if all(room[r] >= m for r, m in uses):
                    for r, m in uses:
                        room[r] -= m
                    out[k] = (op.machine, op.day)
                    break
        return out

    def solve(self, seconds: float, hint: Mapping[int, tuple[int, int]], workers: int = 2,
              seed: int = 0) -> tuple[Outcome, dict[int, tuple[int, int]]]:  # fmt: skip
        for k in hint:
            for op in self.options[k]:
                self.model.add_hint(op.x, hint[k] == (op.machine, op.day))
            self.model.add_hint(self.unplaced[k], False)
        solver = cpsat.solver(seconds, workers, seed)
        solver.parameters.relative_gap_limit = 1e-4  # the day model is a relaxation: no need to go further
        status = solver.solve(self.model)
        out = Outcome(solver.status_name(status), solver.objective_value, solver.best_objective_bound,
                      solver.wall_time)  # fmt: skip
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return out, {}
        return out, {k: (op.machine, op.day) for k, opts in self.options.items() for op in opts
                     if solver.boolean_value(op.x)}  # fmt: skip


@dataclass
class TimedOption:
    order: int
    machine: int
    day: int
    presence: cp_model.IntVar
    start: cp_model.IntVar  # in slots
    interval: cp_model.IntervalVar
    slots: int


@dataclass
class TimedModel:
    cal: Calendar
    options: dict[int, list[TimedOption]] = field(default_factory=dict)
    unplaced: dict[int, cp_model.IntVar] = field(default_factory=dict)
    overtime: list[tuple[cp_model.IntVar, int]] = field(default_factory=list)  # (minutes, weight)
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)

    exit_cost: Mapping[int, int] = field(default_factory=dict)  # order → cost of leaving (else unplaced cost)

    @classmethod
    def build(cls, cal: Calendar, options: Mapping[int, Sequence[tuple[int, int]]],
              exit_cost: Mapping[int, int] | None = None) -> TimedModel:  # fmt: skip
        """``options``: per order the (machine, day) pairs it may take; their site-days must hold
        no other plan placement (fixed appointments are known to the rules). ``exit_cost``: what
        leaving the model costs an order (its best slot elsewhere), instead of being unplaced."""
        tm = cls(cal, exit_cost=exit_cost or {})
        for k, opts in options.items():
            oid, slots = cal.orders[k].id, cal.orders[k].duration
            tm.options[k] = []
            for i, d in opts:
                domain = rule_staffing.restrict(cal, k, i, d, rule_hours.start_domain(cal, k, i, d))
                if not domain:
                    continue
                name = f"{oid}@{cal.machines[i].id}#{d}"
                present = tm.model.new_bool_var(f"present[{name}]")
                start = tm.model.new_int_var_from_domain(cp_model.Domain.from_intervals(domain), f"start[{name}]")
                interval = tm.model.new_optional_fixed_size_interval_var(start, slots, present, f"run[{name}]")
                tm.options[k].append(TimedOption(k, i, d, present, start, interval, slots))
            tm.unplaced[k] = tm.model.new_bool_var(f"unplaced[{oid}]")
        for rule in (rule_capability, rule_hours, rule_overlap, rule_staffing, objective):
            rule.add_timed(tm)
        return tm

    def solve(self, seconds: float, hint: Mapping[int, tuple[int, int, int]], workers: int = 2,
              seed: int = 0) -> tuple[Outcome, list[Placement]]:  # fmt: skip
        g = self.cal.g
        for k, opts in self.options.items():
            h = hint.get(k)
            for op in opts:
                on = h is not None and h[:2] == (op.machine, op.day)
                self.model.add_hint(op.presence, on)
                if on and h is not None:
                    self.model.add_hint(op.start, h[2] // g)
            self.model.add_hint(self.unplaced[k], h is None)
        solver = cpsat.solver(seconds, workers, seed)
        status = solver.solve(self.model)
        out = Outcome(solver.status_name(status), solver.objective_value, solver.best_objective_bound,
                      solver.wall_time)  # fmt: skip
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return out, []
        cal = self.cal
        return out, [Placement(cal.orders[op.order].id, cal.machines[op.machine].id, op.day, solver.value(op.start) * g)
                     for opts in self.options.values() for op in opts if solver.boolean_value(op.presence)]  # fmt: skip
