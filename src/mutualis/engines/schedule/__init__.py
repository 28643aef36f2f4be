"""The appointment optimiser: place a territory's orders on its pooled machines over days.

instance (:mod:`.instance`, built by :mod:`.build`) → static facts (:mod:`.calendar`) → rules
(:mod:`.rule_capability`, :mod:`.rule_hours`, :mod:`.rule_overlap`, :mod:`.rule_staffing`,
:mod:`.objective`, into the CP-SAT models of :mod:`.model`) → :func:`.solve.solve` (with the
relaxation and bound of :mod:`.relax`, the timing of :mod:`.sequence`, the explanations of
:mod:`.explain`) → a :class:`.solve.Solution`; :mod:`.validate` checks any plan without a
solver, :mod:`.baseline` gives first-come first-served plans, :mod:`.synthetic` benchmark
territories. Pure: no I/O, no database.
"""
