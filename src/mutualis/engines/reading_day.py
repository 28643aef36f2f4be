"""One generated day of reading work for a territory: the exams that become ready, their reading
times, and the radiologists' sessions. The input of ``reading_sim.py``, the same for every policy.

- Exams: the demand generator (engines/demand.py) over ``warmup_days`` before the day and the
  day itself, booked first-come first-served on the pooled machines (engines/fcfs.py) as the
  booking desk does; the exams whose slot falls on the day are acquired then. An exam is ready
  for reading at the end of its slot, on its machine's site; its due time comes from
  :class:`~mutualis.domain.reading.ReadingSettings`.
- Reading times: ``ReadingSettings.minutes_for`` the exam (its own minutes, else its
  modality's) times a log-normal factor of mean 1 and spread ``reading_sigma``, drawn once per
  exam from ``random.Random(seed)``.
- Exams performed by a radiologist (``radiologist_on_site``: ultrasound, guided acts): a
  radiologist present on the site (qualified for the modality when one is) performs it during
  its slot and writes the report right after; those minutes are blocked for reading and the
  report is the same under every policy.
- Sessions: the default presence (engines/presence.py) of the day without the radiologists who
  are off (:func:`absent`: rest after the night on call, one weekday off a week), minus those
  blocks and the other work (each session keeps the blocks after it as its ``breaks``), plus one
  on-call radiologist reading from home from ``on_call_start`` to the end of the horizon (the
  next morning), for the priorities in ``on_call_priorities``. ``urgent_sessions``: the same
  radiologists on site minus their performing blocks only (when other work yields to an urgent
  exam, ``SimSettings.urgent_stops_other_work``).
- Screening mammograms: their first-reading outcome (positive, technically insufficient or
  negative, then a second reading) is drawn once too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mutualis.domain.orders import Priority
from mutualis.domain.reading import ReadingTask, new_task
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Commune, Profession, Territory
from mutualis.engines.demand import generate_demand
from mutualis.engines.fcfs import Access, serve
from mutualis.engines.presence import default_presence
from mutualis.engines.slots import RADIOLOGIST, Shift


@dataclass(frozen=True)
class SimSettings:
    """The simulation's own numbers (assumptions, none from a source):
    ``warmup_days`` 21 of demand booked before the day, so that it is as full as a usual day;
    ``reading_sigma`` 0.35, the spread of the log-normal reading-time factor (mean 1);
    ``l1_positive_share`` 0.08 and ``insufficient_share`` 0.005 of screening first readings;
    an on-call radiologist (qualified for ``on_call_qualifications``, rotating by day) reads
    ``on_call_priorities`` (urgent) from home from ``on_call_start`` (18:30, when the day's
    radiologists leave) until ``horizon_end`` (08:00 the next morning), where the simulation stops.

    Who is present (on top of the default presence, which puts every radiologist on site every
    weekday, 08:00–18:30): ``rest_after_on_call``: the radiologist on call the night before is off
    (DOMAIN.md: 11 hours of rest after every night on call, no work then; the roster engine's rule);
    ``weekdays_worked`` 4: each radiologist not in the on-call rota takes one weekday off a week,
    in turn (five days of 10 h 30 are 52.5 h, over the 48-hour limit of DOMAIN.md; the roster
    engine's full-time contract is 4 days of 10 hours); the on-call rota's day off is the day after
    their night.

    ``other_work_share`` 0.3 of each day on site goes to work other than reading and performing
    exams, in blocks of ``other_work_minutes`` (10 to 30 minutes, uniform) placed at random: hospital
    radiologists spend 36.4 % of their clinical time interpreting images and 43.8 % on other
    clinical tasks, of which 10.9 % image-guided procedures (already the performing blocks here),
    12.7 % preparing and monitoring studies, the rest consulting referring physicians, quality and
    safety work (Dhanoa et al., J Am Coll Radiol 2013, the VALUE study); 0.3 is about what is left
    once the procedures are taken out. The blocks are drawn from their own random stream, so the
    exams and reading times of a seed do not depend on them.

    ``resume_minutes`` 2: an urgent exam may interrupt a routine reading (Mutualis dispatch); the
    radiologist who resumes it later needs 2 more minutes to get back into it (re-open the
    images and the draft report; an assumption, no source); a colleague who takes it over reads
    it from the start (its whole reading time again).

    ``urgent_stops_other_work`` (off by default): an urgent exam that would be late even after
    interrupting a reading may take a radiologist on site out of their other work (a
    consultation, a meeting, preparing a study: a radiologist on site is called for an urgent
    case), never out of a performing block. The other work is displaced: the sessions stay as
    they are, the minutes of the urgent reading are lost to the other work."""

    warmup_days: int = 21
    reading_sigma: float = 0.35
    l1_positive_share: float = 0.08
    insufficient_share: float = 0.005
    on_call_start: time = time(18, 30)
    horizon_end: time = time(8, 0)  # the next day
    on_call_qualifications: tuple[str, ...] = ("CT", "MR")
    on_call_priorities: tuple[Priority, ...] = (Priority.URGENT,)
    rest_after_on_call: bool = True
    weekdays_worked: int = 4
    other_work_share: float = 0.3
    other_work_minutes: tuple[int, int] = (10, 30)
    resume_minutes: float = 2.0
    urgent_stops_other_work: bool = False


@dataclass(frozen=True)
class SimExam:
    task: ReadingTask  # id = its index in SimDay.exams
    minutes: float  # actual reading minutes
    performer: str | None = None  # RPPS of the radiologist who performed and reports it
    report_at: datetime | None = None  # performed exams: when the report is done
    l1_outcome: str = ""  # screening: "positive", "insufficient" or "negative" (then an L2)
    l2_minutes: float = 0.0


@dataclass(frozen=True)
class Session:
    """A radiologist available to read at one place for a stretch of time (site None: from home)."""

    id: str
    rpps: str
    site: str | None
    start: datetime
    end: datetime
    on_call: bool = False
    # the radiologist's blocks from its end to the end of their shift, ``last`` (a reading paused
    # over them must end by then: an urgent exam under dispatch, DispatchRules.pause_urgent)
    breaks: tuple[tuple[datetime, datetime], ...] = ()
    last: datetime | None = None


@dataclass(frozen=True)
class SimDay:
    day: date
    start: datetime
    end: datetime
    exams: tuple[SimExam, ...]
    sessions: tuple[Session, ...]
    blocked: Mapping[str, tuple[tuple[datetime, datetime], ...]]  # RPPS → performing and other-work blocks
    # the radiologists on site between their performing blocks only (other work yields to an urgent exam)
    urgent_sessions: tuple[Session, ...] = ()


def _factor(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(-sigma * sigma / 2, sigma)) if sigma > 0 else 1.0


def on_call_rota(t: Territory, sim: SimSettings) -> list[str]:
    return sorted(p.rpps for p in t.practitioners if p.profession is Profession.RADIOLOGIST
                  and set(sim.on_call_qualifications) <= set(p.qualifications))


def on_call_radiologist(t: Territory, day: date, sim: SimSettings) -> str | None:
    pool = on_call_rota(t, sim)
    return pool[day.toordinal() % len(pool)] if pool else None


def absent(t: Territory, day: date, sim: SimSettings, shifts: Sequence[Shift],
           needed: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The radiologists off on ``day`` (see :class:`SimSettings`), given the day's default
    ``shifts``: the night's on-call radiologist of the day before; then, on weekdays, those whose
    turn it is to take their day off, unless their site would lose a qualification it needs
    (``needed``: site → the qualifications its machines' modalities need) that nobody else
    present there holds: a hospital keeps a radiologist for its CT and its ultrasound, as a
    roster would."""
    off: set[str] = set()
    if sim.rest_after_on_call and (before := on_call_radiologist(t, day - timedelta(days=1), sim)):
        off.add(before)
    if day.weekday() >= 5:
        return frozenset(off)
    rota = set(on_call_rota(t, sim))
    others = sorted(p.rpps for p in t.practitioners if p.profession is Profession.RADIOLOGIST and p.rpps not in rota)
    days_off = 5 - min(5, max(0, sim.weekdays_worked))
    quals = {p.rpps: frozenset(p.qualifications) for p in t.practitioners}
    here = [x for x in shifts if x.day == day and x.role == RADIOLOGIST and x.rpps]
    for k, rpps in enumerate(others):
        if (k - day.weekday()) % 5 >= days_off:
            continue
        sites = {x.site for x in here if x.rpps == rpps}

        def covered(site: str, without: set[str]) -> frozenset[str]:
            return needed.get(site, frozenset()) & frozenset().union(
                *(quals[x.rpps] for x in here if x.site == site and x.rpps not in without))

        if all(covered(site, off | {rpps}) == covered(site, off) for site in sites):
            off.add(rpps)
    return frozenset(off)


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minute)


def _performer(shifts: Sequence[Shift], site: str, start: datetime, end: datetime, wanted: str | None,
               qualified: Mapping[str, tuple[str, ...]], blocks: Mapping[str, list[tuple[datetime, datetime]]]
               ) -> str | None:
    present = [s.rpps for s in shifts if s.site == site and _at(s.day, s.start_min) <= start
               and end <= _at(s.day, s.end_min)]

    def rank(rpps: str) -> tuple[bool, bool, float, str]:
        mine = blocks.get(rpps, [])
        overlaps = any(a < end and start < b for a, b in mine)
        busy = sum((b - a).total_seconds() for a, b in mine)
        return (wanted is not None and wanted not in qualified[rpps], overlaps, busy, rpps)

    return min(present, key=rank) if present else None


def _other_work(shifts: Sequence[Shift], blocks: dict[str, list[tuple[datetime, datetime]]], sim: SimSettings,
                rng: random.Random) -> None:
    """Adds each on-site radiologist's blocks of other work (``sim.other_work_share`` of the day),
    where they do not overlap the blocks already there."""
    low, high = sim.other_work_minutes
    for sh in sorted(shifts, key=lambda x: (x.rpps or "", x.start_min)):
        if not sh.rpps or sim.other_work_share <= 0:
            continue
        mine = blocks.setdefault(sh.rpps, [])
        target = (sh.end_min - sh.start_min) * sim.other_work_share
        placed, tries = 0.0, 0
        while placed < target and tries < 200:
            tries += 1
            length = rng.uniform(low, high)
            start = _at(sh.day, sh.start_min) + timedelta(minutes=rng.uniform(0, sh.end_min - sh.start_min - length))
            end = start + timedelta(minutes=length)
            if not any(a < end and start < b for a, b in mine):
                mine.append((start, end))
                placed += length


def _sessions(shifts: Sequence[Shift], blocks: Mapping[str, list[tuple[datetime, datetime]]],
              prefix: str = "") -> list[Session]:
    """The stretches of each shift between the radiologist's ``blocks``, one session each, with
    the blocks that follow it in the shift (merged where they touch or overlap) as its breaks."""
    out: list[Session] = []
    for s in shifts:
        first, end = _at(s.day, s.start_min), _at(s.day, s.end_min)
        merged: list[tuple[datetime, datetime]] = []
        for a, b in sorted(blocks.get(s.rpps, [])):
            a, b = max(a, first), min(b, end)
            if a >= b:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        cursor = first
        for a, b in [*merged, (end, end)]:
            if a > cursor:
                out.append(Session(f"{prefix}{s.rpps}@{s.site}#{len(out)}", s.rpps, s.site, cursor, a,
                                   breaks=tuple(x for x in merged if x[0] >= a), last=end))
            cursor = b
    return out


def _away_sessions(roster: Sequence[Shift], day: date, horizon: datetime) -> list[Session]:
    """The roster's remote-reading rows of ``day`` and its on-call stretch from ``day`` to
    ``horizon`` (rows split at midnight joined again), one session each."""
    out = [Session(f"{x.rpps}@remote#{k}", x.rpps, None, _at(day, x.start_min), _at(day, x.end_min))
           for k, x in enumerate(r for r in roster if r.day == day and r.role == "remote" and r.rpps)]
    calls: dict[str, tuple[datetime, datetime]] = {}
    for x in roster:
        if x.role != "on_call" or not x.rpps or x.day not in (day, day + timedelta(days=1)):
            continue
        a, b = _at(x.day, x.start_min), min(_at(x.day, x.end_min), horizon)
        if a < b and (x.day == day or a == _at(x.day, 0)):  # the next day: only the night's end
            was = calls.get(x.rpps)
            calls[x.rpps] = (a, b) if was is None else (min(was[0], a), max(was[1], b))
    out += [Session(f"{rpps}@on-call", rpps, None, a, b, on_call=True) for rpps, (a, b) in sorted(calls.items())]
    return out


def build_day(t: Territory, communes: Mapping[str, Commune], day: date, seed: int,
              settings: ReadingSettings | None = None, sim: SimSettings | None = None,
              roster: Sequence[Shift] | None = None) -> SimDay:
    """The exams ready on ``day`` and who can read them, for ``seed``. ``roster``: the presence
    rows of a roster (engines/roster/territory.presence_of) to take the day's radiologists from
    instead of the default presence: its on-site rows are on-site sessions (with performing and
    other work, as above), its ``remote`` rows read from elsewhere all day, its ``on_call`` rows
    of the day and the next morning are the on-call session; the exams are still booked on the
    default presence (a roster is made before the bookings of its days are known)."""
    s, m = settings or ReadingSettings(), sim or SimSettings()
    first = day - timedelta(days=m.warmup_days)
    orders = generate_demand(t, communes, first, m.warmup_days + 1, seed)
    presence = default_presence(t, first, m.warmup_days + 1 + t.booking.horizon_days + 2)
    needed = {site.id: frozenset(q for e in t.equipment if e.site == site.id and e.modality is not None
                                 and (q := s.modality_qualifications.get(e.modality.value))) for site in t.sites}
    off = {d: absent(t, d, m, presence, needed) for d in {x.day for x in presence}}
    presence = [x for x in presence if x.role != RADIOLOGIST or x.rpps not in off[x.day]]
    booked = [o for o in serve(t, orders, presence, communes, Access.POOLED) if o.start and o.start.date() == day]
    booked.sort(key=lambda o: (o.start, o.equipment, o.order.requested_at))
    exams = {x.code: x for x in t.exams}
    site_of = {e.id: e.site for e in t.equipment}
    shifts = [x for x in (presence if roster is None else roster) if x.day == day and x.role == RADIOLOGIST]
    qualified = {p.rpps: p.qualifications for p in t.practitioners}
    rng = random.Random(seed)
    blocks: dict[str, list[tuple[datetime, datetime]]] = {}
    out: list[SimExam] = []
    for o in booked:
        assert o.start is not None and o.equipment is not None
        exam = exams[o.order.exam]
        end = o.start + timedelta(minutes=exam.duration_min)
        site = site_of[o.equipment]
        task = new_task(None, f"SIM{len(out):05d}", exam, site, o.order.priority, end, s, id=len(out))
        minutes = s.minutes_for(task.modality.value, task.exam) * _factor(rng, m.reading_sigma)
        draw = rng.random()
        l2_minutes = s.minutes_for(task.modality.value, task.exam) * _factor(rng, m.reading_sigma)
        outcome = ""
        if task.kind is TaskKind.SCREENING_L1:
            outcome = ("insufficient" if draw < m.insufficient_share
                       else "positive" if draw < m.insufficient_share + m.l1_positive_share else "negative")
        performer = report_at = None
        if exam.radiologist_on_site:
            wanted = s.modality_qualifications.get(task.modality.value)
            performer = _performer(shifts, site, o.start, end, wanted, qualified, blocks)
            if performer is not None:
                report_at = end + timedelta(minutes=minutes)
                blocks.setdefault(performer, []).append((o.start, report_at))
        out.append(SimExam(task, minutes, performer, report_at, outcome, l2_minutes))
    performing = {k: list(v) for k, v in blocks.items()}
    _other_work(shifts, blocks, m, random.Random(f"other-work/{seed}"))
    sessions = _sessions(shifts, blocks)
    start = datetime.combine(day, time())
    horizon = datetime.combine(day + timedelta(days=1), m.horizon_end)
    if roster is None:
        on_call = on_call_radiologist(t, day, m)
        if on_call is not None:
            sessions.append(Session(f"{on_call}@home", on_call, None, datetime.combine(day, m.on_call_start),
                                    horizon, on_call=True))
    else:
        sessions += _away_sessions(roster, day, horizon)
    return SimDay(day, start, horizon, tuple(out), tuple(sessions),
                  {k: tuple(sorted(v)) for k, v in blocks.items()},
                  tuple(_sessions(shifts, performing, "urgent:")))
