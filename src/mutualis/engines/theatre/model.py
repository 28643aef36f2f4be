"""The CP-SAT model the rule modules fill, with named variables so that a solution explains
itself (``x[c12@chu-bloc-visceral-1#2026-11-23#0800]`` is case c12 in that session).

Built in this order: :mod:`.rule_eligibility` (a Boolean per eligible case-session pair, one per
case left waiting, exactly one of them) → :mod:`.rule_capacity` (session length, overtime,
idle minutes) → :mod:`.rule_surgeon` (one theatre at a time) → the objective
(:class:`~.instance.TheatreWeights`):

    Σ cost(case, session day)·x + Σ waiting cost·waiting
      + overtime_per_minute · Σ overtime + idle_per_minute · Σ idle

where cost and waiting cost are :meth:`.instance.TheatreInstance.cost` and
:meth:`~.instance.TheatreInstance.waiting_cost`; :func:`.validate.evaluate` computes the same
value for any plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from mutualis.engines import cpsat
from mutualis.engines.theatre import rule_capacity, rule_eligibility, rule_surgeon
from mutualis.engines.theatre.instance import TheatreInstance


@dataclass
class Outcome:
    status: str
    objective: float
    bound: float
    wall_s: float
    assignment: dict[int, int]  # case index → session index


@dataclass
class TheatreModel:
    inst: TheatreInstance
    by_case: dict[int, list[int]] = field(default_factory=dict)  # case → eligible sessions
    by_session: dict[int, list[int]] = field(default_factory=dict)  # session → candidate cases
    x: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # (case, session)
    waiting: dict[int, cp_model.IntVar] = field(default_factory=dict)
    used: dict[int, cp_model.IntVar] = field(default_factory=dict)  # session has a case
    over: dict[int, cp_model.IntVar] = field(default_factory=dict)  # overtime minutes
    busy: dict[int, cp_model.LinearExpr] = field(default_factory=dict)  # Σ (d + turnover)·x
    inside: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)  # (surgeon, session)
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)

    @classmethod
    def build(cls, inst: TheatreInstance) -> TheatreModel:
        tm = cls(inst)
        tm.by_case = rule_eligibility.options(inst)
        by_session: dict[int, list[int]] = defaultdict(list)
        for k, sessions in tm.by_case.items():
            for i in sessions:
                by_session[i].append(k)
        tm.by_session = dict(by_session)
        for rule in (rule_eligibility.add, rule_capacity.add, rule_surgeon.add):
            rule(tm)
        tm._objective()
        return tm

    def _objective(self) -> None:
        inst, w = self.inst, self.inst.weights
        t = inst.turnover_min
        variables: list[cp_model.IntVar] = []
        weights: list[int] = []
        for (k, i), x in self.x.items():
            case = inst.cases[k]
            variables.append(x)
            # idle minutes fall by the case's minutes and one turnover
            weights.append(inst.cost(case, inst.sessions[i].day) - w.idle_per_minute * (case.expected_min + t))
        for k, v in self.waiting.items():
            variables.append(v)
            weights.append(inst.waiting_cost(inst.cases[k]))
        for used in self.used.values():
            variables.append(used)
            weights.append(w.idle_per_minute * t)  # the first case has no turnover before it
        for over in self.over.values():
            variables.append(over)
            weights.append(w.overtime_per_minute + w.idle_per_minute)  # overtime is not idle either
        constant = w.idle_per_minute * sum(s.length for s in inst.sessions)
        self.model.minimize(cp_model.LinearExpr.weighted_sum(variables, weights) + constant)

    def hint(self, assignment: Mapping[int, int]) -> None:
        """Start the search from ``assignment`` (case → session index; absent: waiting)."""
        for (k, i), x in self.x.items():
            self.model.add_hint(x, assignment.get(k) == i)
        for k, v in self.waiting.items():
            self.model.add_hint(v, k not in assignment or (k, assignment[k]) not in self.x)

    def solve(self, seconds: float, workers: int = 2, seed: int = 0,
              on_solution: Callable[[float, float], None] | None = None) -> Outcome:  # fmt: skip
        solver = cpsat.solver(seconds, workers, seed)
        callback = _Callback(on_solution) if on_solution is not None else None
        status = solver.solve(self.model, callback)
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Outcome(name, float("nan"), float("nan"), solver.wall_time, {})
        assignment = {k: i for (k, i), x in self.x.items() if solver.boolean_value(x)}
        return Outcome(name, solver.objective_value, solver.best_objective_bound, solver.wall_time, assignment)


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Callable[[float, float], None]) -> None:
        super().__init__()
        self._report = report

    def on_solution_callback(self) -> None:
        self._report(self.wall_time, self.objective_value)
