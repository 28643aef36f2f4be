"""The CP-SAT solver as every engine sets it up: a time limit, worker threads, a seed."""

from __future__ import annotations

from ortools.sat.python import cp_model


def solver(seconds: float, workers: int = 2, seed: int = 0, *, floor: float = 0.1) -> cp_model.CpSolver:
    """A solver stopping after ``seconds`` (``floor`` at least); its statuses are named by
    ``solver.status_name(status)`` (OPTIMAL, FEASIBLE, INFEASIBLE, MODEL_INVALID, UNKNOWN)."""
    s = cp_model.CpSolver()
    s.parameters.max_time_in_seconds = max(floor, seconds)
    s.parameters.num_workers = workers
    s.parameters.random_seed = seed
    return s
