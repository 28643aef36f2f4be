"""Why no roster exists, in words a coordinator understands.

A feasibility model of the territory's **hard** rules only (engines/roster/territory.py) in
which every rule instance hangs on an assumption literal: the mandatory cover of each week's
on-call nights and weekend days, each leave request, the rest after a night on call, each
person's 48-hour limit, weekends, consecutive days and contractual minimum. CP-SAT answers
which assumptions suffice for infeasibility (``sufficient_assumptions_for_infeasibility``);
the set is then shrunk by deletion (drop one, re-solve: still infeasible, it was not needed),
within the time budget, so that the coordinator reads the few rules that truly conflict.

:func:`explain_infeasible` returns nothing when the hard rules can all hold together.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from mutualis.domain.rosters import ShiftKind
from mutualis.engines.roster.instance import RosterInstance
from mutualis.engines.roster.territory import TerritoryRoster, may_work


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, str | int] = field(default_factory=dict)

    @property
    def fr(self) -> str:
        p = self.params
        if self.code == "cover":
            return (f"{p['shift']} du {p['first']} au {p['last']} : {p['need']} personne(s) par jour, "
                    f"obligatoirement")
        if self.code == "leave":
            return f"le congé de {p['name']} du {p['first']} au {p['last']}"
        if self.code == "rest_after_night":
            return "le repos de sécurité de 11 h après chaque garde de nuit (ni travail le lendemain, ni deux nuits " \
                   "de suite)"
        if self.code == "max_hours":
            return f"la limite de 48 h par semaine en moyenne de {p['name']}"
        if self.code == "weekends":
            return f"au plus {p['n']} week-end(s) travaillé(s) pour {p['name']}"
        if self.code == "consecutive":
            return f"au plus {p['n']} jours de travail d'affilée pour {p['name']}"
        if self.code == "contract":
            return f"le temps de travail minimal du contrat de {p['name']} ({p['hours']} h)"
        return self.code

    @property
    def en(self) -> str:
        p = self.params
        texts = {
            "cover": f"{p.get('shift')} from {p.get('first')} to {p.get('last')}: {p.get('need')} a day, mandatory",
            "leave": f"the leave of {p.get('name')} from {p.get('first')} to {p.get('last')}",
            "rest_after_night": "11 hours of rest after every night on call",
            "max_hours": f"48 hours a week on average for {p.get('name')}",
            "weekends": f"at most {p.get('n')} weekends for {p.get('name')}",
            "consecutive": f"at most {p.get('n')} days in a row for {p.get('name')}",
            "contract": f"the contractual minimum of {p.get('name')} ({p.get('hours')} h)",
        }
        return texts.get(self.code, self.code)


def _d(day: date) -> str:
    return day.strftime("%d/%m")


def conflicting_rules(problem: TerritoryRoster, instance: RosterInstance, *, time_limit_s: float = 20.0
                      ) -> list[Reason]:  # fmt: skip
    """The hard rules that cannot all hold (empty: a roster exists as far as they go)."""
    deadline = time.monotonic() + time_limit_s
    m = cp_model.CpModel()
    days = [problem.start + timedelta(days=n) for n in range(problem.days)]
    shifts = problem.shifts
    staff = {s.id: s for s in instance.staff}
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for e, p in enumerate(problem.people):
        for d in range(len(days)):
            cells = []
            for s, sh in enumerate(shifts):
                if may_work(p, sh):
                    x[e, d, s] = m.new_bool_var(f"x{e}_{d}_{s}")
                    cells.append(x[e, d, s])
            if len(cells) > 1:
                m.add_at_most_one(cells)
    reasons: dict[int, Reason] = {}

    def literal(reason: Reason) -> cp_model.IntVar:
        lit = m.new_bool_var(reason.code)
        reasons[lit.index] = reason
        return lit

    # mandatory cover, one literal per shift and week
    weeks: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    code_index = {s.code: n for n, s in enumerate(shifts)}
    for (day, code), need in problem.demand.items():
        if code in problem.hard and need > 0 and problem.start <= day < problem.start + timedelta(days=len(days)):
            d = (day - problem.start).days
            weeks[code, d // 7].append((d, need))
    for (code, _), needs in sorted(weeks.items()):
        s = code_index[code]
        first, last = min(d for d, _ in needs), max(d for d, _ in needs)
        lit = literal(Reason("cover", {"shift": shifts[s].label, "first": _d(days[first]), "last": _d(days[last]),
                                       "need": max(n for _, n in needs)}))  # fmt: skip
        for d, need in needs:
            m.add(sum(x[e, d, s] for e in range(len(problem.people)) if (e, d, s) in x) >= need).only_enforce_if(lit)
    # leave, one literal per request
    index = {p.rpps: e for e, p in enumerate(problem.people)}
    for leave in problem.leave:
        who = index.get(leave.rpps)
        if who is None:
            continue
        e = who
        lit = literal(Reason("leave", {"name": problem.people[e].name, "first": _d(leave.first),
                                       "last": _d(leave.last)}))  # fmt: skip
        for d, day in enumerate(days):
            if leave.covers(day):
                for s in range(len(shifts)):
                    if (e, d, s) in x:
                        m.add(x[e, d, s] == 0).only_enforce_if(lit)
    # rest after a night on call: nothing the next day
    rest = literal(Reason("rest_after_night"))
    nights = [n for n, s in enumerate(shifts) if s.kind is ShiftKind.NIGHT_ON_CALL]
    for (e, d, s), v in x.items():
        if s in nights and d + 1 < len(days):
            for t in range(len(shifts)):
                if (e, d + 1, t) in x:
                    m.add_implication(v, x[e, d + 1, t].negated()).only_enforce_if(rest)
    # per person: 48 hours, weekends, days in a row, contractual minimum
    for e, p in enumerate(problem.people):
        mine = [(d, s, v) for (ee, d, s), v in x.items() if ee == e]
        if not mine:
            continue
        rules = staff[p.rpps]
        minutes = sum(shifts[s].minutes * v for _, s, v in mine)
        m.add(minutes <= rules.max_minutes).only_enforce_if(literal(Reason("max_hours", {"name": p.name})))
        if rules.min_minutes > 0:
            m.add(minutes >= rules.min_minutes).only_enforce_if(
                literal(Reason("contract", {"name": p.name, "hours": rules.min_minutes // 60})))
        worked = [sum(v for dd, _, v in mine if dd == d) for d in range(len(days))]
        n = rules.max_consecutive
        lit = literal(Reason("consecutive", {"name": p.name, "n": n}))
        for d in range(len(days) - n):
            m.add(sum(worked[d:d + n + 1]) <= n).only_enforce_if(lit)
        weekend_flags = []
        for d, day in enumerate(days):
            if day.weekday() == 5:
                flag = m.new_bool_var("")
                for dd in (d, d + 1):
                    if dd < len(days):
                        m.add(worked[dd] <= flag)
                weekend_flags.append(flag)
        if weekend_flags:
            m.add(sum(weekend_flags) <= rules.max_weekends).only_enforce_if(
                literal(Reason("weekends", {"name": p.name, "n": rules.max_weekends})))
    assumptions = [m.get_bool_var_from_proto_index(i) for i in reasons]
    core = _solve(m, assumptions, deadline)
    if core is None:
        return []
    core = _shrink(m, core, deadline)
    return [reasons[v.index] for v in core]


def _solve(m: cp_model.CpModel, assumptions: Sequence[cp_model.IntVar], deadline: float
           ) -> list[cp_model.IntVar] | None:  # fmt: skip
    """None when feasible (or undecided in time); else a sufficient set of assumptions."""
    m.clear_assumptions()
    m.add_assumptions(list(assumptions))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, deadline - time.monotonic())
    solver.parameters.num_workers = 1  # sufficient assumptions need a single worker
    status = solver.solve(m)
    if status != cp_model.INFEASIBLE:
        return None
    found = set(solver.sufficient_assumptions_for_infeasibility())
    return [v for v in assumptions if v.index in found]


def _shrink(m: cp_model.CpModel, core: list[cp_model.IntVar], deadline: float
            ) -> list[cp_model.IntVar]:  # fmt: skip
    kept = list(core)
    for v in list(core):
        if time.monotonic() > deadline - 0.5 or len(kept) <= 1:
            break
        trial = [k for k in kept if k.index != v.index]
        smaller = _solve(m, trial, deadline)
        if smaller is not None:
            kept = smaller
    return kept


def explain_infeasible(problem: TerritoryRoster, instance: RosterInstance, *, time_limit_s: float = 20.0
                       ) -> list[str]:  # fmt: skip
    """The conflicting rules as French sentences (empty when the hard rules can hold)."""
    reasons = conflicting_rules(problem, instance, time_limit_s=time_limit_s)
    if not reasons:
        return []
    leave: dict[tuple[str | int, str | int], list[str]] = defaultdict(list)
    parts = []
    for r in reasons:
        if r.code == "leave":
            leave[r.params["first"], r.params["last"]].append(str(r.params["name"]))
        else:
            parts.append(r.fr)
    for (first, last), names in leave.items():
        who = names[0] if len(names) == 1 else f"{len(names)} personnes ({', '.join(names)})"
        parts.append(f"{'le congé' if len(names) == 1 else 'les congés'} de {who} du {first} au {last}")
    return ["Aucun planning ne respecte à la fois : " + " ; ".join(parts) + "."]
