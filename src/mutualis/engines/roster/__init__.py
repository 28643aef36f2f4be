"""The staff-roster engine: who works which shift on which day (Curtois & Qu model).

typed instance (:mod:`.instance`, read and written by :mod:`.curtois`, index tables in
:mod:`.facts`) → one module per rule (:mod:`.rule_cover`, :mod:`.rule_succession`,
:mod:`.rule_workload`, :mod:`.rule_consecutive`, :mod:`.rule_weekends`, :mod:`.rule_requests`,
and the stronger stretch formulation :mod:`.rule_stretch`, into the CP-SAT region models of
:mod:`.model`) → :func:`.solve.solve` (first roster by the whole model or :mod:`.construct`,
then the large-neighbourhood search of :mod:`.lns`) → a :class:`.solve.RosterSolution`;
:mod:`.validate` checks any roster and computes the benchmark objective without a solver;
:mod:`.generator` makes lawful-by-construction instances of any size. Pure: no I/O but the
file helpers of :mod:`.curtois`.

A territory's roster goes through the same engine: :mod:`.territory` turns the territory's
shifts, demand, contracts and leave into an instance (with :mod:`.rule_balance` fairness
groups), and :mod:`.explain` says, from CP-SAT assumptions, which hard rules conflict when no
roster exists.
"""
