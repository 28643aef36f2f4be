"""The typed problem of the theatre planner: sessions to fill, cases waiting, who may operate where.

Times are minutes since local midnight; days are dates (a week's sessions run Monday to
Friday). A **session** is one opening range of one theatre on one day (built from a territory by
:mod:`.block`); the block schedule gives it to a surgeon (or a team: several RPPS), or leaves it
**open** to every federation surgeon privileged at its site. A **case** is one operation waiting:
its procedure, its expected in-room time (patient in to patient out, induction included), its
surgeon, where it may be done, what anaesthesia and equipment it needs, its priority and dates.

A session holds cases one after the other, with ``turnover_min`` between two cases (cleaning and
set-up); the last one may end up to ``overtime_allowance_min`` past the session's end, each such
minute being overtime. Cases that find no session stay **waiting** (postponed to a later week:
for a case booked before, a cancellation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

PRIORITIES = ("urgent", "cancer", "standard")
ANAESTHESIA = ("general", "regional", "local")


@dataclass(frozen=True)
class Session:
    """One opening range of a theatre on one day.

    ``surgeons``: the RPPS the block schedule gives the session to (one surgeon, or a team);
    empty: an open session, for any surgeon privileged at ``site``. ``procedures``: the only
    procedures its theatre takes (the equipment's ``exams`` in the territory); empty: any."""

    id: str
    theatre: str  # equipment id
    site: str
    day: date
    start_min: int
    end_min: int
    surgeons: frozenset[str] = frozenset()
    team: str = ""  # display label of the allocation (a surgeon's name, a team's name, "open")
    equipment: frozenset[str] = frozenset()
    anaesthesia: frozenset[str] = frozenset(ANAESTHESIA)
    procedures: frozenset[str] = frozenset()

    @property
    def length(self) -> int:
        return self.end_min - self.start_min

    @property
    def is_open(self) -> bool:
        return not self.surgeons

    def allocated_to(self, rpps: str) -> bool:
        """Whether the block schedule lets ``rpps`` operate in this session (privileges apart)."""
        return self.is_open or rpps in self.surgeons


@dataclass(frozen=True)
class SurgicalCase:
    """One operation on the waiting list.

    ``sites``: where it may be done (heavy surgery and digestive oncology: the CHU's sites only);
    empty: any site. ``ready``: the first day it may be done (anaesthesia consultation, tumour
    board, pre-operative work-up); ``None``: the referral date. ``p90_min``: the 90th percentile
    of its in-room time, to measure the risk of overrunning a session (``None``: no spread)."""

    id: str
    procedure: str
    label: str
    expected_min: int
    surgeon: str  # RPPS
    priority: str  # one of PRIORITIES
    referral: date
    due: date
    ready: date | None = None
    p90_min: int | None = None
    sites: frozenset[str] = frozenset()
    anaesthesia: str = "general"  # one of ANAESTHESIA
    equipment: frozenset[str] = frozenset()

    @property
    def ready_on(self) -> date:
        return self.ready if self.ready is not None else self.referral


@dataclass(frozen=True, order=True)
class Booking:
    """A case in a session, starting at ``start_min`` (minutes since the session day's midnight)."""

    case: str
    session: str
    start_min: int


def _per_priority(urgent: int, cancer: int, standard: int) -> dict[str, int]:
    return {"urgent": urgent, "cancer": cancer, "standard": standard}


@dataclass(frozen=True)
class TheatreWeights:
    """Weights of the objective (lower is better), integers because CP-SAT needs them.

    Lexicographic in spirit — urgent and cancer cases past due ≫ other cases past due ≫ cases
    left waiting ≫ overtime minutes ≫ idle session minutes — with room for trade-offs:

    - ``past_due`` per case done after its due date, or left waiting when its due date falls in
      the horizon: urgent 100,000, cancer 100,000 (the tumour board's delay), standard 10,000;
    - ``late_per_day`` per day past the due date (counted from the later of the due date and
      the first day the case could be done, so already overdue cases are served oldest first):
      urgent 2,000, cancer 1,000, standard 100;
    - ``waiting`` per case left waiting (postponed or cancelled), on top of its cost as if done
      the day after the horizon: urgent 5,000, cancer 3,000, standard 1,000 — one standard case
      done is worth 100 minutes of overtime, more than a session's allowance, so a case that
      fits within the allowance is never left out to save overtime;
    - ``wait_per_day`` per day between the first possible day and the day of surgery: urgent
      100, cancer 30, standard 3 (sooner for the more pressing cases, all else equal);
    - ``overtime_per_minute`` 10: a minute past a session's end;
    - ``idle_per_minute`` 1: a minute of a session with no case and no turnover in it.

    All values are assumptions, to tune per federation.
    """

    past_due: Mapping[str, int] = field(default_factory=lambda: _per_priority(100_000, 100_000, 10_000))
    late_per_day: Mapping[str, int] = field(default_factory=lambda: _per_priority(2_000, 1_000, 100))
    waiting: Mapping[str, int] = field(default_factory=lambda: _per_priority(5_000, 3_000, 1_000))
    wait_per_day: Mapping[str, int] = field(default_factory=lambda: _per_priority(100, 30, 3))
    overtime_per_minute: int = 10
    idle_per_minute: int = 1


@dataclass(frozen=True)
class TheatreInstance:
    """One planning problem: fill ``sessions`` from ``cases`` over ``days`` days from ``start``.

    ``privileges``: RPPS → the sites where the practitioner may operate (see
    :func:`.block.privileges_from_territory`); a surgeon absent from it may operate nowhere.
    ``site_travel_min``: the least time between two sessions of one surgeon on one day at two
    different sites (Poitiers–Montmorillon is about 50 km by the N147: 60 minutes, an
    assumption). Defaults: turnover 20 minutes, overtime allowance 30 minutes per session.
    """

    start: date
    days: int
    sessions: tuple[Session, ...]
    cases: tuple[SurgicalCase, ...]
    privileges: Mapping[str, frozenset[str]]
    turnover_min: int = 20
    overtime_allowance_min: int = 30
    site_travel_min: int = 60
    weights: TheatreWeights = field(default_factory=TheatreWeights)
    names: Mapping[str, str] = field(default_factory=dict)  # RPPS → display name
    name: str = ""

    @property
    def end(self) -> date:
        """The first day after the horizon."""
        return self.start + timedelta(days=self.days)

    @cached_property
    def session_by_id(self) -> dict[str, Session]:
        return {s.id: s for s in self.sessions}

    @cached_property
    def case_by_id(self) -> dict[str, SurgicalCase]:
        return {c.id: c for c in self.cases}

    def earliest(self, case: SurgicalCase) -> date:
        """The first day the case could be done in this horizon."""
        return max(case.ready_on, self.start)

    def cost(self, case: SurgicalCase, day: date) -> int:
        """What doing ``case`` on ``day`` costs (lateness and waiting); see :class:`TheatreWeights`."""
        w, p = self.weights, case.priority
        first = self.earliest(case)
        cost = w.wait_per_day.get(p, 0) * max(0, (day - first).days)
        if day > case.due:
            cost += w.past_due.get(p, 0) + w.late_per_day.get(p, 0) * max(0, (day - max(case.due, first)).days)
        return cost

    def waiting_cost(self, case: SurgicalCase) -> int:
        """What leaving ``case`` waiting costs: as if done the day after the horizon, plus the
        postponement itself."""
        return self.weights.waiting.get(case.priority, 0) + self.cost(case, max(self.end, self.earliest(case)))

    def past_due_if_waiting(self, case: SurgicalCase) -> bool:
        return case.due < self.end
