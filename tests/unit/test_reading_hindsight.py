"""The hindsight bound of a reading day: the rules kept, the percentile counted as the simulation
counts it, and never above what a policy without interruptions reaches."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.orders import Priority
from mutualis.domain.reading import new_task
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.reading_day import Session, SimDay, SimExam, SimSettings, build_day
from mutualis.engines.reading_hindsight import allowed_above, hindsight
from mutualis.engines.reading_sim import Policy, percentile, simulate, summarise
from tests.conftest import ROOT

DAY = date(2026, 11, 24)
SIM = SimSettings(warmup_days=10)
TEN_MIN_MR = replace(ReadingSettings(), reading_minutes={**ReadingSettings().reading_minutes, "MR": 10.0})
MR_CT, MR_CT_2 = "14107796204", "15759511197"  # two Rodez radiologists qualified for MR and CT


@pytest.fixture(scope="module")
def aveyron(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute)


def _mri(t: Territory, i: int, ready: datetime, minutes: float = 10.0, performer: str | None = None,
         priority: Priority = Priority.OUTPATIENT) -> SimExam:
    exam = next(x for x in t.exams if x.code == "irm-encephale")
    task = new_task(None, f"T{i}", exam, "rodez", priority, ready, TEN_MIN_MR, id=i)
    return SimExam(task, minutes, performer, ready + timedelta(minutes=minutes) if performer else None)


def _session(rpps: str, start: datetime, end: datetime, n: int = 0) -> Session:
    return Session(f"{rpps}@rodez#{n}", rpps, "rodez", start, end)


def _day(exams: list[SimExam], sessions: list[Session]) -> SimDay:
    return SimDay(DAY, _at(0), _at(23), tuple(exams), tuple(sessions), {})


@pytest.mark.parametrize("n", [1, 3, 20, 100, 202, 221, 5936])
def test_allowed_above_matches_the_simulations_percentile(n: int) -> None:
    values = [float(i) for i in range(n)]
    assert sum(v > percentile(values, 0.95) for v in values) == allowed_above(n)


def test_one_reader_reads_one_exam_at_a_time(aveyron: Territory) -> None:
    # two 10-minute MRIs at 08:00, one reader: the second ends at 08:20 (with 2 exams, p95 = the longest)
    day = _day([_mri(aveyron, 0, _at(8)), _mri(aveyron, 1, _at(8))], [_session(MR_CT, _at(8), _at(12))])
    h = hindsight(aveyron, day, TEN_MIN_MR, SIM, 10)
    assert (h.p95_min, h.proven, h.exams, h.above, h.unreadable) == (20.0, True, 2, 0, 0)
    assert (h.urgent, h.urgent_late, h.urgent_late_lower) == (0, 0, 0)
    two = _day(list(day.exams), [*day.sessions, _session(MR_CT_2, _at(8), _at(12))])
    assert hindsight(aveyron, two, TEN_MIN_MR, SIM, 10).p95_min == 10.0


def test_a_reading_starts_only_if_its_expected_time_fits_before_the_session_ends(aveyron: Territory) -> None:
    # 08:00–08:15 holds one 10-minute reading, not two: the second waits for 09:00 (70 min after its images)
    day = _day([_mri(aveyron, 0, _at(8)), _mri(aveyron, 1, _at(8))],
               [_session(MR_CT, _at(8), _at(8, 15)), _session(MR_CT, _at(9), _at(10), 1)])
    assert hindsight(aveyron, day, TEN_MIN_MR, SIM, 10).p95_min == 70.0
    # the actual time may run over the session (the expected one is what must fit): 25 actual minutes
    # read from 08:00 keep the reader busy until 08:25; the second exam still waits for 09:00
    long = _day([_mri(aveyron, 0, _at(8), 25.0), _mri(aveyron, 1, _at(8))], list(day.sessions))
    assert hindsight(aveyron, long, TEN_MIN_MR, SIM, 10).p95_min == 70.0


def test_performed_and_unreadable_exams_count(aveyron: Territory) -> None:
    performed = _mri(aveyron, 0, _at(8), 30.0, performer=MR_CT_2)  # reported 30 min after its images
    day = _day([performed, _mri(aveyron, 1, _at(8))], [_session(MR_CT, _at(8), _at(12))])
    assert hindsight(aveyron, day, TEN_MIN_MR, SIM, 10).p95_min == 30.0
    late = _mri(aveyron, 2, _at(13))  # after every session: unread under any schedule
    h = hindsight(aveyron, _day([*day.exams, late], list(day.sessions)), TEN_MIN_MR, SIM, 10)
    assert (h.p95_min, h.lower_min, h.unreadable) == (None, None, 1)  # 3 exams leave none above: p95 is unread


def test_never_above_fifo_on_a_generated_day(aveyron: Territory, communes: dict[str, Commune]) -> None:
    day = build_day(aveyron, communes, DAY, 1, sim=SIM)
    h = hindsight(aveyron, day, sim=SIM, time_limit=60)
    run = simulate(aveyron, day, Policy.FIFO, sim=SIM)  # pull FIFO never interrupts a reading
    fifo = percentile([r.turnaround_min for r in run.readings if r.task.kind is not TaskKind.SCREENING_L2], 0.95)
    assert h.exams == sum(x.task.kind is not TaskKind.SCREENING_L2 for x in day.exams)
    assert h.p95_min is not None and h.proven
    assert h.p95_min <= fifo
    unread = sum(r.end is None for r in run.readings if r.task.kind is not TaskKind.SCREENING_L2)
    assert h.unreadable <= unread
    late = sum(not r.on_time for r in run.readings if r.task.priority is Priority.URGENT)
    assert h.urgent_late is not None and h.urgent_late_lower <= h.urgent_late <= late


def test_the_fewest_urgent_exams_late(aveyron: Territory) -> None:
    # three urgent MRIs of 25 actual minutes at 08:00 (due 09:00), one reader: the third ends at 09:15
    urgent = [_mri(aveyron, i, _at(8), 25.0, priority=Priority.URGENT) for i in range(3)]
    day = _day(urgent, [_session(MR_CT, _at(8), _at(12))])
    h = hindsight(aveyron, day, TEN_MIN_MR, SIM, 10)
    assert (h.urgent, h.urgent_late, h.urgent_late_lower) == (3, 1, 1)
    # a second reader from 08:30: all three in time
    two = _day(urgent, [*day.sessions, _session(MR_CT_2, _at(8, 30), _at(12))])
    assert hindsight(aveyron, two, TEN_MIN_MR, SIM, 10).urgent_late == 0
    # a routine MRI does not count, however late: the percentile is 75 min (its end at 09:15)
    mixed = _day([*urgent[:2], _mri(aveyron, 2, _at(8), 25.0)], list(day.sessions))
    h = hindsight(aveyron, mixed, TEN_MIN_MR, SIM, 10)
    assert (h.urgent, h.urgent_late, h.p95_min) == (2, 0, 75.0)


def test_an_urgent_exam_not_yet_due_at_the_end_is_carried_over_not_late(aveyron: Territory) -> None:
    # ready at 22:50, due 23:50, after the day's end (23:00); no session left: carried over, as summarise counts it
    day = _day([_mri(aveyron, 0, _at(22, 50), priority=Priority.URGENT)], [_session(MR_CT, _at(8), _at(12))])
    h = hindsight(aveyron, day, TEN_MIN_MR, SIM, 10)
    assert (h.urgent, h.urgent_late, h.unreadable) == (1, 0, 1)
    run = simulate(aveyron, day, Policy.FIFO, TEN_MIN_MR, SIM)
    urgent = summarise(run, day)["rows"]["urgent"]
    assert isinstance(urgent, dict) and (urgent["late"], urgent["carried_over"]) == (0, 1)
