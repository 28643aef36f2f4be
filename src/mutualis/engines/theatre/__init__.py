"""Shared theatre sessions of a surgical federation (FMIH): fill a week's operating sessions
from the waiting cases.

instance (:mod:`.instance`; sessions and privileges from a territory by :mod:`.block`) → rules
(:mod:`.rule_eligibility`, :mod:`.rule_capacity`, :mod:`.rule_surgeon`, into the CP-SAT model of
:mod:`.model`) → :func:`.solve.solve` → a :class:`.solve.TheatreSolution`; :mod:`.validate`
checks any plan without a solver and measures it, :mod:`.baseline` gives the first-come
first-served plan, :mod:`.synthetic` a seeded week of waiting cases. Pure: no I/O, no database.
"""
