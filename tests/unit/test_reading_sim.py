"""The one-day reading simulation: same exams for every policy, seeded, and every rule kept."""

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest

from mutualis.adapters.territory_file import read_territory_file
from mutualis.domain.orders import Priority
from mutualis.domain.reading import may_read, new_task
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Commune, Territory
from mutualis.engines.dispatch import STRICT, DispatchRules
from mutualis.engines.presence import default_presence
from mutualis.engines.reading_day import Session, SimDay, SimExam, SimSettings, absent, build_day, on_call_radiologist
from mutualis.engines.reading_sim import Policy, PolicyRun, Reading, percentile, run_all, simulate, summarise
from mutualis.engines.slots import RADIOLOGIST
from tests.conftest import ROOT

DAY = date(2026, 11, 24)  # a Tuesday
SIM = SimSettings(warmup_days=10)


@pytest.fixture(scope="module")
def aveyron(communes: dict[str, Commune]) -> Territory:
    return read_territory_file(ROOT / "territories" / "aveyron-pimm.toml", communes)


@pytest.fixture(scope="module")
def day(aveyron: Territory, communes: dict[str, Commune]) -> SimDay:
    return build_day(aveyron, communes, DAY, 4, sim=SIM)  # a day with interruptions under dispatch


@pytest.fixture(scope="module")
def runs(aveyron: Territory, day: SimDay) -> dict[Policy, PolicyRun]:
    return run_all(aveyron, day, sim=SIM)


def test_the_day_has_exams_of_every_priority_ready_on_that_day(day: SimDay) -> None:
    assert len(day.exams) > 50
    assert {x.task.priority.value for x in day.exams} >= {"urgent", "inpatient", "outpatient", "screening"}
    assert all(x.task.ready_at.date() == DAY and x.minutes > 0 for x in day.exams)
    assert [x.task.id for x in day.exams] == list(range(len(day.exams)))
    performed = [x for x in day.exams if x.performer]
    assert performed and all(x.task.modality.value in ("US", "CT") for x in performed)
    for s in day.sessions:  # performing blocks and other work are not reading time
        assert s.start < s.end
        blocks = day.blocked.get(s.rpps, ())
        assert not any(a < s.end and s.start < b for a, b in blocks)
        if not s.on_call:  # its breaks: the blocks that follow it in the shift
            assert s.last is not None
            assert all(any(x <= a and b <= y for x, y in s.breaks) for a, b in blocks if s.end <= a and b <= s.last)


def test_same_arrivals_and_reading_times_for_every_policy(day: SimDay, runs: dict[Policy, PolicyRun]) -> None:
    n = len(day.exams)
    first = [(r.task.id, r.task.exam, r.task.site, r.task.ready_at, r.task.due_at) for r in runs[Policy.FIFO].readings]
    for run in runs.values():
        mine = [(r.task.id, r.task.exam, r.task.site, r.task.ready_at, r.task.due_at) for r in run.readings]
        assert mine[:n] == first[:n] == [(x.task.id, x.task.exam, x.task.site, x.task.ready_at, x.task.due_at)
                                        for x in day.exams]
        for x, r in zip(day.exams, run.readings[:n], strict=True):
            if r.start and r.end and not r.pieces:
                assert (r.end - r.start).total_seconds() / 60 == pytest.approx(x.minutes)
            elif r.pieces:  # interrupted: at least its reading time, at most twice (a colleague restarts)
                read = sum((b - a).total_seconds() / 60 for _, a, b in r.pieces)
                assert x.minutes < read <= 2 * x.minutes + SIM.resume_minutes * len(r.pieces)
                assert all(a[2] <= b[1] for a, b in pairwise(r.pieces)) and r.start == r.pieces[0][1]


def test_deterministic_for_a_seed(aveyron: Territory, communes: dict[str, Commune], day: SimDay,
                                  runs: dict[Policy, PolicyRun]) -> None:
    again = build_day(aveyron, communes, DAY, 4, sim=SIM)
    assert again == day
    for policy, run in runs.items():
        assert simulate(aveyron, again, policy, sim=SIM).readings == run.readings
    other = build_day(aveyron, communes, DAY, 6, sim=SIM)
    assert [x.task.exam for x in other.exams] != [x.task.exam for x in day.exams]


def test_reading_times_are_the_exams_own(aveyron: Territory, communes: dict[str, Commune]) -> None:
    from bench.reading import per_modality

    s = ReadingSettings()
    exact = build_day(aveyron, communes, DAY, 4, sim=replace(SIM, reading_sigma=0.0))
    read = [x for x in exact.exams if not x.report_at]
    assert all(x.minutes == s.minutes_for(x.task.modality.value, x.task.exam) for x in read)
    ct = {x.task.exam: x.minutes for x in read if x.task.modality.value == "CT"}
    assert ct.get("tdm-crane") == 8.0 and ct.get("tdm-tap") == 25.0  # a head CT reads faster than a CAP
    flat = build_day(aveyron, communes, DAY, 4, per_modality(s), sim=replace(SIM, reading_sigma=0.0))
    assert {x.minutes for x in flat.exams if not x.report_at and x.task.modality.value == "CT"} == {15.0}


def test_every_reading_keeps_the_rules(aveyron: Territory, day: SimDay, runs: dict[Policy, PolicyRun]) -> None:
    people = {p.rpps: p for p in aveyron.practitioners}
    on_duty = {s.rpps for s in day.sessions}
    performed = {x.task.id: (x.performer, x.report_at) for x in day.exams if x.performer}
    for policy, run in runs.items():
        by_person: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        first_reader = {r.task.accession: r.reader for r in run.readings if r.task.kind is TaskKind.SCREENING_L1}
        for r in run.readings:
            if r.reader is None or r.start is None or r.end is None:
                continue
            if r.task.id in performed:  # by its performer, in the performing block, under every policy
                assert (r.reader, r.end) == performed[r.task.id]
                continue
            for reader, start, end in r.spans:
                by_person[reader].append((start, end))
                where = [s for s in day.sessions if s.rpps == reader and s.start <= start < s.end]
                assert len(where) == 1, (policy, r)
                session = where[0]
                assert may_read(people[reader], r.task, aveyron, on_duty, session.site) is None, (policy, r)
                if policy is Policy.SILO and not session.on_call:
                    assert session.site == r.task.site
                if session.on_call:
                    assert r.task.priority.value == "urgent"
            if policy is not Policy.DISPATCH:  # neither interrupted nor paused across a block
                assert r.pieces == (), (policy, r)
            if r.task.kind is TaskKind.SCREENING_L2:
                l1 = first_reader[r.task.accession]
                assert r.reader != l1 and l1 in r.task.excluded and r.reader not in r.task.excluded
        for spans in by_person.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in pairwise(spans)), policy


def test_dispatch_interrupts_readings_on_this_day(runs: dict[Policy, PolicyRun]) -> None:
    assert runs[Policy.DISPATCH].interruptions > 0
    assert any(r.pieces for r in runs[Policy.DISPATCH].readings)
    assert runs[Policy.FIFO].interruptions == runs[Policy.SILO].interruptions == 0


def test_only_negative_first_readings_get_a_second_one(day: SimDay, runs: dict[Policy, PolicyRun]) -> None:
    negative = {x.task.accession for x in day.exams if x.l1_outcome == "negative"}
    run = runs[Policy.DISPATCH]
    read_l1 = {r.task.accession for r in run.readings if r.task.kind is TaskKind.SCREENING_L1 and r.end}
    l2 = [r.task.accession for r in run.readings if r.task.kind is TaskKind.SCREENING_L2]
    assert sorted(l2) == sorted(negative & read_l1)
    assert any(x.l1_outcome == "negative" for x in day.exams)


def test_strict_dispatch_reads_urgent_exams_first(aveyron: Territory, day: SimDay) -> None:
    # Reading times × 2: queues form, and the order shows.
    slow = replace(day, exams=tuple(x if x.report_at else replace(x, minutes=x.minutes * 2) for x in day.exams))
    base = ReadingSettings()
    settings = replace(base, reading_minutes={m: v * 2 for m, v in base.reading_minutes.items()})
    results = {p: summarise(simulate(aveyron, slow, p, settings, SIM, STRICT), slow)
               for p in (Policy.FIFO, Policy.DISPATCH)}
    urgent = {p: s["rows"]["urgent"] for p, s in results.items()}  # type: ignore[index]
    assert urgent[Policy.DISPATCH]["late"] <= urgent[Policy.FIFO]["late"]
    assert urgent[Policy.DISPATCH]["median_min"] < urgent[Policy.FIFO]["median_min"]


def test_summary_counts_and_percentiles(day: SimDay, runs: dict[Policy, PolicyRun]) -> None:
    s = summarise(runs[Policy.SILO], day)
    rows = s["rows"]
    assert isinstance(rows, dict)
    assert rows["all"]["exams"] == len(day.exams)
    assert sum(rows[k]["exams"] for k in ("urgent", "inpatient", "outpatient", "screening")) == len(day.exams)
    assert percentile([3.0, 1.0, 2.0, float("inf")], 0.5) == 2.0
    assert percentile([1.0, float("inf")], 0.95) == float("inf")


def test_the_night_on_call_rests_and_each_site_keeps_its_qualifications(aveyron: Territory, day: SimDay) -> None:
    here = {x.rpps for x in day.sessions if not x.on_call}
    before = on_call_radiologist(aveyron, DAY - timedelta(days=1), SIM)
    assert before is not None and before not in here  # 11 hours of rest after the night on call
    assert 6 <= len(here) < len({p.rpps for p in aveyron.practitioners if p.profession.value == RADIOLOGIST})
    shifts = default_presence(aveyron, DAY, 1)
    needed = {"decazeville": frozenset({"CT", "US", "mammo-L1"}), "rodez": frozenset({"MR", "US"})}
    quals = {p.rpps: set(p.qualifications) for p in aveyron.practitioners}
    off = absent(aveyron, DAY, SIM, shifts, needed)
    assert len(off) > 1  # the rest after the night, and someone's weekday off

    def held(site: str, without: set[str]) -> set[str]:
        return set().union(*(quals[x.rpps] for x in shifts if x.site == site and x.role == RADIOLOGIST and x.rpps
                             and x.rpps not in without))

    for site, need in needed.items():  # days off never take away what the site had after the rest
        assert need & held(site, {before}) <= held(site, set(off))
    five = absent(aveyron, DAY, replace(SIM, weekdays_worked=5, rest_after_on_call=False), shifts, needed)
    assert five == frozenset()


def test_radiologists_on_site_have_other_work(aveyron: Territory, day: SimDay) -> None:
    minutes = {}
    for rpps, blocks in day.blocked.items():
        minutes[rpps] = sum((b - a).total_seconds() / 60 for a, b in blocks)
    here = {x.rpps for x in day.sessions if not x.on_call}
    assert here <= set(minutes)
    assert all(m >= 0.8 * SIM.other_work_share * 630 for rpps, m in minutes.items() if rpps in here)


# ---------------------------------------------------------------- pre-emption, on a day built by hand

MR_CT, MR_CT_2 = "14107796204", "15759511197"  # two Rodez radiologists qualified for MR and CT
SLOW_MR = replace(ReadingSettings(), reading_minutes={**ReadingSettings().reading_minutes, "MR": 60.0})


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute)


def _exam(t: Territory, i: int, code: str, priority: Priority, ready: datetime, minutes: float,
          performer: str | None = None) -> SimExam:
    exam = next(x for x in t.exams if x.code == code)
    task = new_task(None, f"T{i}", exam, "rodez", priority, ready, SLOW_MR, id=i)
    report = ready + timedelta(minutes=minutes) if performer else None
    return SimExam(task, minutes, performer, report)


def _hand_day(exams: list[SimExam], sessions: list[Session], blocked: dict[str, tuple[tuple[datetime, datetime], ...]]
              | None = None, urgent_sessions: tuple[Session, ...] = ()) -> SimDay:
    return SimDay(DAY, _at(0), _at(23), tuple(exams), tuple(sessions), blocked or {}, urgent_sessions)


def _session(rpps: str, start: datetime, end: datetime, n: int = 0) -> Session:
    return Session(f"{rpps}@rodez#{n}", rpps, "rodez", start, end)


def _routine_mri_then_urgent_ct(aveyron: Territory) -> list[SimExam]:
    return [_exam(aveyron, 0, "irm-encephale", Priority.OUTPATIENT, _at(8), 60),  # 60 min expected and read
            _exam(aveyron, 1, "tdm-thorax-inj", Priority.URGENT, _at(8, 5), 15)]  # due 09:05


def _by_id(run: PolicyRun) -> dict[int, Reading]:
    return {r.task.id: r for r in run.readings if r.task.id is not None}


def test_an_urgent_exam_interrupts_the_only_reader_and_the_mri_is_resumed(aveyron: Territory) -> None:
    day = _hand_day(_routine_mri_then_urgent_ct(aveyron), [_session(MR_CT, _at(8), _at(12))])
    run = simulate(aveyron, day, Policy.DISPATCH, SLOW_MR, SIM)
    got = _by_id(run)
    assert run.interruptions == 1
    assert (got[1].reader, got[1].start, got[1].end) == (MR_CT, _at(8, 5), _at(8, 20)) and got[1].on_time
    # the MRI: 5 minutes read, 55 left + 2 to get back into it, resumed after the urgent CT
    assert got[0].pieces == ((MR_CT, _at(8), _at(8, 5)), (MR_CT, _at(8, 20), _at(9, 17)))
    assert (got[0].start, got[0].end) == (_at(8), _at(9, 17))
    assert run.minutes_by_reader[MR_CT] == pytest.approx(60 + 15 + 2)
    for policy in (Policy.FIFO, Policy.SILO):  # pull: the MRI is finished first, the CT is late
        late = simulate(aveyron, day, policy, SLOW_MR, SIM)
        assert late.interruptions == 0 and not _by_id(late)[1].on_time
    assert simulate(aveyron, day, Policy.FIFO, SLOW_MR, SIM, preempt=True).interruptions == 1
    assert simulate(aveyron, day, Policy.DISPATCH, SLOW_MR, SIM, DispatchRules(preempt=False)).interruptions == 0


def test_no_interruption_when_a_reader_frees_up_in_time(aveyron: Territory) -> None:
    sessions = [_session(MR_CT, _at(8), _at(12)), _session(MR_CT_2, _at(8, 10), _at(12))]
    run = simulate(aveyron, _hand_day(_routine_mri_then_urgent_ct(aveyron), sessions), Policy.DISPATCH, SLOW_MR, SIM)
    got = _by_id(run)
    assert run.interruptions == 0 and got[0].pieces == ()
    assert (got[1].reader, got[1].start) == (MR_CT_2, _at(8, 10))


def test_never_an_urgent_reading_nor_a_performing_block_nor_other_work_by_default(aveyron: Territory) -> None:
    exams = [_exam(aveyron, 0, "irm-encephale", Priority.URGENT, _at(8), 60),  # MR_CT_2 reads it 08:00–09:00
             _exam(aveyron, 1, "tdm-thorax-inj", Priority.URGENT, _at(8, 5), 15),
             _exam(aveyron, 2, "infiltration-scannoguidee", Priority.OUTPATIENT, _at(8, 5), 55, MR_CT)]
    performing = _hand_day(exams, [_session(MR_CT, _at(8), _at(8, 5)), _session(MR_CT, _at(9), _at(12), 1),
                                   _session(MR_CT_2, _at(8), _at(12))], {MR_CT: ((_at(8, 5), _at(9)),)})
    run = simulate(aveyron, performing, Policy.DISPATCH, SLOW_MR, SIM)
    got = _by_id(run)
    assert run.interruptions == 0 and run.other_work_stopped == 0
    assert got[0].pieces == () and (got[0].start, got[0].end) == (_at(8), _at(9))
    assert got[2].end == _at(9) and got[1].start == _at(9) and not got[1].on_time  # late: nobody to interrupt
    # the same hour as other work: it is not interrupted by default; it is with urgent_stops_other_work
    other = replace(performing, exams=performing.exams[:2],
                    urgent_sessions=(_session(MR_CT, _at(8), _at(12), 9),))
    assert _by_id(simulate(aveyron, other, Policy.DISPATCH, SLOW_MR, SIM))[1].start == _at(9)
    stops = simulate(aveyron, other, Policy.DISPATCH, SLOW_MR, replace(SIM, urgent_stops_other_work=True))
    assert stops.other_work_stopped == 1 and stops.other_work_lost_min == pytest.approx(15)
    assert (_by_id(stops)[1].reader, _by_id(stops)[1].start) == (MR_CT, _at(8, 5)) and _by_id(stops)[1].on_time


def test_an_urgent_exam_near_its_due_time_is_read_across_a_block_under_dispatch(aveyron: Territory) -> None:
    # MR_CT is on site from 08:00, in other work from 08:05 to 08:27; the urgent CT waited since 07:40
    block = (_at(8, 5), _at(8, 27))
    sessions = [replace(_session(MR_CT, _at(8), _at(8, 5)), breaks=(block,), last=_at(12)),
                replace(_session(MR_CT, _at(8, 27), _at(12), 1), last=_at(12))]
    day = _hand_day([_exam(aveyron, 0, "tdm-thorax-inj", Priority.URGENT, _at(7, 40), 15)], sessions, {MR_CT: (block,)})
    run = simulate(aveyron, day, Policy.DISPATCH, SLOW_MR, SIM)
    got = _by_id(run)[0]
    # 5 minutes read, paused over the block, 2 to get back into it and the 10 left: due 08:40, read 08:39
    assert got.pieces == ((MR_CT, _at(8), _at(8, 5)), (MR_CT, _at(8, 27), _at(8, 39))) and got.on_time
    assert run.interruptions == 0 and run.minutes_by_reader[MR_CT] == pytest.approx(15 + 2)
    for policy in (Policy.FIFO, Policy.SILO):  # a reading starts only if it fits before the block: late
        late = _by_id(simulate(aveyron, day, policy, SLOW_MR, SIM))[0]
        assert (late.start, late.end, late.pieces) == (_at(8, 27), _at(8, 42), ()) and not late.on_time
    no_pause = _by_id(simulate(aveyron, day, Policy.DISPATCH, SLOW_MR, SIM, DispatchRules(pause_urgent=False)))[0]
    assert (no_pause.start, no_pause.end) == (_at(8, 27), _at(8, 42))


def test_days_pooled_add_up_and_the_tally_counts_days(day: SimDay, runs: dict[Policy, PolicyRun]) -> None:
    from bench.reading import day_tally, pooled

    one, two = summarise(runs[Policy.FIFO], day), summarise(pooled([runs[Policy.FIFO], runs[Policy.FIFO]]), day)
    for row in ("urgent", "all"):
        assert two["rows"][row]["exams"] == 2 * one["rows"][row]["exams"]
        assert two["rows"][row]["late"] == 2 * one["rows"][row]["late"]
        assert two["rows"][row]["p95_min"] == one["rows"][row]["p95_min"]
    assert two["workload"]["mean_min"] == pytest.approx(2 * one["workload"]["mean_min"], abs=0.1)

    def cell(u: float | None, a: float | None, late: int = 0) -> dict[str, object]:
        return {"urgent_p95": u, "all_p95": a, "urgent_late": late}

    check = {"1": {"fifo": cell(30, 40), "dispatch": cell(25, 38)},
             "2": {"fifo": cell(30, 40, 1), "dispatch": cell(30, 45)},
             "3": {"fifo": cell(None, 40, 2), "dispatch": cell(50, None, 1)}}
    tally = day_tally(check)
    assert tally["urgent_p95"] == {"better": 2, "equal": 1, "worse": 0}
    assert tally["all_p95"] == {"better": 1, "equal": 0, "worse": 2}
    assert tally["both_better"] == 1
    assert tally["days_with_urgent_late"] == {"fifo": 2, "dispatch": 1}


def test_a_rosters_rows_become_the_days_sessions(aveyron: Territory, communes: dict[str, Commune]) -> None:
    from mutualis.engines.slots import Shift

    tomorrow = DAY + timedelta(days=1)
    roster = [Shift("rodez", DAY, RADIOLOGIST, 480, 1110, "14949036553"),
              Shift("rodez", DAY, "remote", 480, 1110, "14107796204"),
              Shift("rodez", DAY, "on_call", 0, 510, "13342126847"),  # the end of last night
              Shift("decazeville", DAY, "on_call", 1110, 1440, "15759511197"),
              Shift("decazeville", tomorrow, "on_call", 0, 510, "15759511197"),
              Shift("rodez", tomorrow, RADIOLOGIST, 480, 1110, "12981010940")]  # another day: ignored
    day = build_day(aveyron, communes, DAY, 1, sim=SIM, roster=roster)
    at = {x.rpps: x for x in day.sessions if x.site is None}
    assert set(at) == {"14107796204", "13342126847", "15759511197"}
    assert not at["14107796204"].on_call and (at["14107796204"].start.hour, at["14107796204"].end.hour) == (8, 18)
    tonight = at["15759511197"]
    assert tonight.on_call and tonight.start == datetime.combine(DAY, datetime.min.time()) + timedelta(minutes=1110)
    assert tonight.end == day.end  # joined across midnight, up to the end of the horizon (08:00)
    assert at["13342126847"].on_call and at["13342126847"].end.hour == 8
    on_site = {x.rpps for x in day.sessions if x.site is not None}
    assert on_site == {"14949036553"}  # the roster's radiologists only, not the default presence
