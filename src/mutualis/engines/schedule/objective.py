"""The objective: lateness (urgent, then other), travel beyond the nearest capable site,
waiting from the first possible day (:meth:`.calendar.Calendar.cost`), unplaced orders
(:meth:`.calendar.Calendar.unplaced_cost`, or in a neighbourhood the cost of its best slot
outside, see :mod:`.lns`) and, in the timed model, overtime minutes past the
last opening range (only when the instance allows overtime). The weights are
:class:`~.instance.ScheduleWeights`; :func:`.validate.evaluate` computes the same value for
any plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

if TYPE_CHECKING:
    from mutualis.engines.schedule.model import DayModel, TimedModel


def add_day(dm: DayModel) -> None:
    cal = dm.cal
    variables: list[cp_model.IntVar] = []
    weights: list[int] = []
    for k, opts in dm.options.items():
        for op in opts:
            variables.append(op.x)
            weights.append(cal.cost(k, op.machine, op.day))
        variables.append(dm.unplaced[k])
        weights.append(cal.unplaced_cost(k))
    dm.model.minimize(cp_model.LinearExpr.weighted_sum(variables, weights))


def add_timed(tm: TimedModel) -> None:
    cal = tm.cal
    w = cal.inst.weights
    variables: list[cp_model.IntVar] = []
    weights: list[int] = []
    for k, opts in tm.options.items():
        for op in opts:
            variables.append(op.presence)
            weights.append(cal.cost(k, op.machine, op.day))
            latest_end = op.start.proto.domain[-1] * cal.g + cal.minutes(k)
            if cal.overtime(op.machine, op.day, latest_end) > 0:
                over = tm.model.new_int_var(0, cal.overtime(op.machine, op.day, latest_end),
                                            f"overtime[{cal.orders[k].id}@{cal.machines[op.machine].id}#{op.day}]")
                end = op.start * cal.g + cal.minutes(k) - cal.regular_end[op.machine][op.day]
                tm.model.add(over >= end).only_enforce_if(op.presence)
                variables.append(over)
                weights.append(w.overtime_per_minute)
        variables.append(tm.unplaced[k])
        weights.append(tm.exit_cost.get(k, cal.unplaced_cost(k)))
    tm.model.minimize(cp_model.LinearExpr.weighted_sum(variables, weights))
