"""Push dispatch: the rules, the order, the choice, and the validator (which needs no solver)."""

import random
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from mutualis.domain.orders import Priority
from mutualis.domain.reading import ReadingTask
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Modality
from mutualis.engines import dispatch
from mutualis.engines.dispatch import (
    STRICT,
    Assignment,
    DispatchInstance,
    DispatchRules,
    DispatchTask,
    InProgress,
    Interruption,
    Reader,
    Solution,
    dispatch_now,
    dispatch_task,
    resumed_task,
    solve,
    stretch,
)
from mutualis.engines.dispatch_validate import assignment_problems

NOW = datetime(2026, 11, 24, 10, 0)
GREEDY = DispatchRules(lookahead=0)  # the greedy rules alone, without the rollout of what starts now


def _task(id: int, priority: Priority = Priority.OUTPATIENT, minutes: float = 10, ago: int = 0,
          due_in: timedelta | None = None) -> DispatchTask:
    ready = NOW - timedelta(minutes=ago)
    return DispatchTask(id, priority, ready, ready + (due_in or timedelta(hours=72)), minutes)


def _reader(id: str, free_in: int = 0, load: float = 0.0, until: int | None = None, person: str = "") -> Reader:
    return Reader(id, NOW + timedelta(minutes=free_in), None if until is None else NOW + timedelta(minutes=until),
                  person, load)


def _plan(tasks: list[DispatchTask], readers: list[Reader], eligible: dict[int, set[str]] | None = None,
          rules: DispatchRules | None = None) -> tuple[DispatchInstance, Solution]:
    everyone = {t.id: {r.id for r in readers} for t in tasks}
    instance = DispatchInstance(NOW, tasks, readers, eligible if eligible is not None else everyone)
    solution = solve(instance, rules)
    assert assignment_problems(instance, solution) == []
    return instance, solution


def _by_task(solution: Solution) -> dict[int, Assignment]:
    return {a.task: a for a in solution.assignments}


def test_strict_rules_read_urgent_before_routine_even_when_younger() -> None:
    _, s = _plan([_task(1, ago=120), _task(2, Priority.URGENT)], [_reader("a")], rules=STRICT)
    got = _by_task(s)
    assert got[2].start == NOW and got[1].start == got[2].end


def test_strict_rules_read_earliest_due_first_within_a_priority() -> None:
    late = _task(1, Priority.INPATIENT, ago=60, due_in=timedelta(hours=24))
    soon = _task(2, Priority.INPATIENT, ago=0, due_in=timedelta(hours=2))
    _, s = _plan([late, soon], [_reader("a")], rules=STRICT)
    assert _by_task(s)[2].start == NOW


def test_default_rules_oldest_first_until_an_urgent_exam_is_critical() -> None:
    old = _task(1, ago=120)
    relaxed = _task(2, Priority.URGENT, due_in=timedelta(hours=1))  # latest start in 50 min
    got = _by_task(_plan([old, relaxed], [_reader("a")])[1])
    assert got[1].start == NOW and got[2].start == got[1].end
    pressed = _task(3, Priority.URGENT, ago=30, due_in=timedelta(hours=1))  # latest start in 20 min
    got = _by_task(_plan([old, pressed], [_reader("a")])[1])
    assert got[3].start == NOW and got[1].start == got[3].end


def test_a_head_start_lets_a_priority_pass_older_exams() -> None:
    rules = DispatchRules(head_start={Priority.INPATIENT: 60.0}, critical=0.0, lookahead=0)
    older = _task(1, ago=45)
    inpatient = _task(2, Priority.INPATIENT, due_in=timedelta(hours=24))
    got = _by_task(_plan([older, inpatient], [_reader("a")], rules=rules)[1])
    assert got[2].start == NOW


def test_the_reader_other_waiting_exams_need_is_kept_for_them() -> None:
    # Both may read 1; only "mr" may read 2: 1 goes to "any" although "mr" has read less today.
    tasks = [_task(1, ago=30), _task(2, ago=10)]
    readers = [_reader("mr", load=0), _reader("any", load=300)]
    got = _by_task(_plan(tasks, readers, {1: {"mr", "any"}, 2: {"mr"}})[1])
    assert got[1].reader == "any" and got[2].reader == "mr" and got[2].start == NOW
    strict = _by_task(_plan(tasks, readers, {1: {"mr", "any"}, 2: {"mr"}}, rules=STRICT)[1])
    assert strict[1].reader == "mr" and strict[2].start > NOW  # least-loaded first: 2 waits


def test_best_fit_keeps_the_long_stretch_for_the_long_reading() -> None:
    # "short" has 10 min before a booked patient, "long" a free afternoon: the 4-min X-ray goes
    # to "short", so that the 20-min MRI starts now on "long".
    tasks = [_task(1, minutes=4, ago=30), _task(2, minutes=20, ago=10)]
    got = _by_task(_plan(tasks, [_reader("long"), _reader("short", until=10)])[1])
    assert got[1].reader == "short" and got[2].reader == "long" and got[2].start == NOW


def test_the_reader_who_ends_soonest_gets_it() -> None:
    _, s = _plan([_task(1)], [_reader("busy", free_in=30), _reader("free", free_in=5, load=500)])
    assert _by_task(s)[1].reader == "free" and _by_task(s)[1].start == NOW + timedelta(minutes=5)


def test_ties_go_to_the_least_loaded() -> None:
    _, s = _plan([_task(1), _task(2)], [_reader("a", load=120), _reader("b", load=30), _reader("c", load=60)],
                 rules=GREEDY)
    got = _by_task(s)
    assert (got[1].reader, got[2].reader) == ("b", "c")


def test_only_eligible_readers_and_within_their_end() -> None:
    _, s = _plan([_task(1), _task(2, minutes=20), _task(3)],
                 [_reader("a"), _reader("b", until=15)], {1: {"a"}, 2: {"b"}, 3: set()})
    assert _by_task(s)[1].reader == "a"
    assert set(s.unassigned) == {2, 3}  # b must stop after 15 min; nobody may read 3


def test_a_persons_sessions_never_overlap() -> None:
    readers = [_reader("p-morning", until=60, person="p"), _reader("p-later", free_in=60, person="p"),
               _reader("q", free_in=200)]
    _, s = _plan([_task(i, minutes=25) for i in range(4)], readers)
    mine = sorted((a.start, a.end) for a in s.assignments if a.reader.startswith("p"))
    assert all(a[1] <= b[0] for a, b in pairwise(mine))


def test_the_validator_catches_bad_assignments() -> None:
    tasks = [_task(1), _task(2), _task(3, ago=-30)]  # 3 is ready in 30 minutes
    readers = [_reader("a"), _reader("b", until=5)]
    instance = DispatchInstance(NOW, tasks, readers, {1: {"a"}, 2: {"a", "b"}, 3: {"a"}})
    ten = timedelta(minutes=10)
    bad = Solution((Assignment(1, "b", NOW, NOW + ten),  # not eligible, ends after b's end
                    Assignment(2, "a", NOW, NOW + ten),
                    Assignment(1, "a", NOW + timedelta(minutes=5), NOW + timedelta(minutes=15)),  # twice, overlap
                    Assignment(3, "a", NOW + ten, NOW + timedelta(minutes=30))),  # before ready, too long
                   ())
    reasons = " | ".join(str(p) for p in assignment_problems(instance, bad))
    for expected in ("not eligible", "ends after", "assigned twice", "overlap", "before it is ready", "lasts 20"):
        assert expected in reasons, expected
    assert "neither assigned" in str(assignment_problems(instance, Solution((), ())))


def _random_instance(rng: random.Random, readers: int, tasks: int) -> DispatchInstance:
    rs = [_reader(f"r{i}", free_in=rng.choice([0, 0, 0, 5, 20]), load=rng.randrange(0, 300),
                  until=rng.choice([None, 60, 240])) for i in range(readers)]
    ts = [_task(i, rng.choice(list(Priority)), rng.choice([3, 4, 15, 20]), ago=rng.randrange(0, 180),
                due_in=timedelta(hours=rng.choice([1, 24, 72]))) for i in range(tasks)]
    eligible = {t.id: {r.id for r in rs if rng.random() < 0.5} for t in ts}
    return DispatchInstance(NOW, ts, rs, eligible)


def test_solutions_pass_the_validator_on_random_instances() -> None:
    rng = random.Random(7)
    for _ in range(30):
        instance = _random_instance(rng, rng.randint(1, 12), rng.randint(0, 40))
        for rules in (None, STRICT, DispatchRules(keep_scarce=False, best_fit=False)):
            solution = solve(instance, rules)
            assert assignment_problems(instance, solution) == []
            assert len(solution.assignments) + len(solution.unassigned) == len(instance.tasks)


def test_event_decisions_are_the_start_of_the_plan() -> None:
    rng = random.Random(11)
    for _ in range(40):
        instance = _random_instance(rng, rng.randint(1, 12), rng.randint(0, 40))
        idle = [r for r in instance.readers if r.free_at <= NOW]
        for rules in (GREEDY, STRICT):
            now = dispatch_now(NOW, instance.tasks, idle, instance.eligible, rules)
            assert sorted(now, key=lambda a: a.task) == sorted(solve(instance, rules).starting(NOW),
                                                               key=lambda a: a.task)
            assert len({a.reader for a in now}) == len(now)  # one reading at a time per idle reader


def test_the_look_ahead_lets_the_scarce_reader_start_what_only_they_can_read() -> None:
    # "mr" is free now, "any" in 2 min. The X-ray is older: the greedy plan gives it to "mr"
    # (it ends soonest there) and the MRI waits 4 min; the rollout sees that "any" takes the
    # X-ray 2 min later and starts the MRI now, which shortens the longest wait.
    tasks = [_task(1, minutes=4, ago=30), _task(2, minutes=20, ago=29)]
    readers = [_reader("mr"), _reader("any", free_in=2)]
    eligible = {1: {"mr", "any"}, 2: {"mr"}}
    greedy = _by_task(_plan(tasks, readers, eligible, rules=GREEDY)[1])
    assert greedy[1].reader == "mr" and greedy[2].start == NOW + timedelta(minutes=4)
    ahead = _by_task(_plan(tasks, readers, eligible)[1])
    assert ahead[2].reader == "mr" and ahead[2].start == NOW
    assert ahead[1].reader == "any" and ahead[1].start == NOW + timedelta(minutes=2)


def test_the_look_ahead_never_passes_a_critical_exam() -> None:
    # The urgent CT must start within 20 min; a routine exam waiting 3 hours would weigh more in
    # the rollout's cost, but a critical exam is only weighed against other critical exams.
    old = _task(1, minutes=10, ago=180)
    pressed = _task(2, Priority.URGENT, minutes=15, ago=25, due_in=timedelta(hours=1))
    got = _by_task(_plan([old, pressed], [_reader("a")])[1])
    assert got[2].start == NOW


def test_the_look_ahead_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # 50 readers free at once and 200 waiting: at most lookahead_budget rollouts, the rest greedy.
    rng = random.Random(5)
    instance = _random_instance(rng, 50, 200)
    instance = replace(instance, readers=[replace(r, free_at=NOW, until=None) for r in instance.readers])
    calls: list[int] = []
    rollout = dispatch._rollout

    def counted(*args: Any) -> float:
        calls.append(1)
        return float(rollout(*args))

    monkeypatch.setattr(dispatch, "_rollout", counted)
    solution = solve(instance, DispatchRules(lookahead_budget=12))
    assert 2 <= len(calls) <= 12
    assert assignment_problems(instance, solution) == []
    assert len(solution.starting(NOW)) == len({a.reader for a in solution.starting(NOW)})


def test_a_callable_eligibility_gives_the_same_plan() -> None:
    instance = _random_instance(random.Random(3), 8, 30)
    sets = instance.eligible
    assert isinstance(sets, dict)
    by_call = replace(instance, eligible=lambda task, reader: reader in sets[task])
    assert solve(by_call) == solve(instance)
    assert dispatch_now(NOW, instance.tasks, instance.readers, by_call.eligible) == dispatch_now(
        NOW, instance.tasks, instance.readers, sets)


def test_a_stored_task_is_dispatched_with_its_expected_minutes() -> None:
    task = ReadingTask(1, "A", "tdm-crane", Modality.CT, "rodez", Priority.URGENT, TaskKind.SINGLE, NOW,
                       NOW + timedelta(hours=1), id=7)
    assert dispatch_task(task) == DispatchTask(7, Priority.URGENT, NOW, NOW + timedelta(hours=1), 8.0)
    # the exam's own minutes win over its modality's; without them, the modality's
    assert dispatch_task(task, ReadingSettings(reading_minutes={"CT": 12.0, "tdm-crane": 6.0})).minutes == 6.0
    assert dispatch_task(task, ReadingSettings(reading_minutes={"CT": 12.0})).minutes == 12.0
    tap = replace(task, exam="tdm-tap")
    assert dispatch_task(tap).minutes == 25.0 and dispatch_task(replace(task, exam="tdm-thorax-inj")).minutes == 15.0


# ---------------------------------------------------------------- pre-emption


def _reading(task: DispatchTask, reader: str, started_ago: float, interruptible: bool = True) -> InProgress:
    return InProgress(task, reader, NOW - timedelta(minutes=started_ago), interruptible)


def _busy(id: str, piece: InProgress) -> Reader:
    """A reader whose reading in progress should end after its expected minutes."""
    return Reader(id, piece.started + timedelta(minutes=piece.task.minutes))


def _preempt_plan(tasks: list[DispatchTask], readers: list[Reader], running: list[InProgress],
                  eligible: dict[int, set[str]] | None = None) -> tuple[DispatchInstance, Solution]:
    ids = [t.id for t in tasks] + [x.task.id for x in running]
    instance = DispatchInstance(NOW, tasks, readers, eligible or {i: {r.id for r in readers} for i in ids}, running)
    solution = solve(instance)
    assert assignment_problems(instance, solution) == []
    return instance, solution


URGENT_CT = _task(9, Priority.URGENT, minutes=15, due_in=timedelta(hours=1))


def test_an_urgent_exam_interrupts_a_routine_reading_when_nobody_is_free_in_time() -> None:
    mri = _reading(_task(1, minutes=60, ago=30), "a", started_ago=10)  # "a" is free in 50 minutes
    _, s = _preempt_plan([URGENT_CT], [_busy("a", mri)], [mri])
    assert s.interruptions == (Interruption(1, "a", NOW, 9),)
    got = _by_task(s)
    assert (got[9].reader, got[9].start, got[9].end) == ("a", NOW, NOW + timedelta(minutes=15))
    # resumed by "a" after the urgent exam: 50 minutes left + 2 to get back into it
    assert (got[1].reader, got[1].start, got[1].end) == ("a", got[9].end, got[9].end + timedelta(minutes=52))


def test_no_interruption_when_a_reader_frees_up_in_time() -> None:
    mri = _reading(_task(1, minutes=60, ago=30), "a", started_ago=10)
    xray = _reading(_task(2, minutes=4), "b", started_ago=0)  # "b" is free in 4 minutes
    _, s = _preempt_plan([URGENT_CT], [_busy("a", mri), _busy("b", xray)], [mri, xray])
    assert s.interruptions == ()
    assert _by_task(s)[9].reader == "b" and _by_task(s)[9].start == NOW + timedelta(minutes=4)
    # nor without pre-emption rules, nor when "a" could still end it in time (35 min + 15 × 1.5 ≤ 60)
    instance = DispatchInstance(NOW, [URGENT_CT], [_busy("a", mri)], {9: {"a"}, 1: {"a"}}, [mri])
    assert solve(instance, DispatchRules(preempt=False)).interruptions == ()
    short = _reading(_task(1, minutes=45, ago=30), "a", started_ago=10)
    assert solve(replace(instance, readers=[_busy("a", short)], running=[short])).interruptions == ()


def test_never_an_urgent_reading_nor_a_patient_on_the_table() -> None:
    urgent = _reading(_task(1, Priority.URGENT, minutes=60, due_in=timedelta(hours=1)), "a", started_ago=5)
    guided = _reading(_task(2, minutes=60), "b", started_ago=5, interruptible=False)
    _, s = _preempt_plan([URGENT_CT], [_busy("a", urgent), _busy("b", guided)], [urgent, guided])
    assert s.interruptions == ()
    assert _by_task(s)[9].start == NOW + timedelta(minutes=55)  # late: it waits


def test_the_interrupted_reading_has_the_most_slack_and_the_reader_must_be_eligible() -> None:
    inpatient = _reading(_task(1, Priority.INPATIENT, minutes=60, due_in=timedelta(hours=24)), "a", started_ago=5)
    outpatient = _reading(_task(2, minutes=60), "b", started_ago=5)
    screening = _reading(_task(3, Priority.SCREENING, minutes=60, due_in=timedelta(days=10)), "c", started_ago=5)
    readers = [_busy("a", inpatient), _busy("b", outpatient), _busy("c", screening)]
    running = [inpatient, outpatient, screening]
    _, s = _preempt_plan([URGENT_CT], readers, running)
    assert [x.task for x in s.interruptions] == [3]
    _, s = _preempt_plan([URGENT_CT], readers, running, {9: {"a", "b"}, 1: {"a"}, 2: {"b"}, 3: {"c"}})
    assert [x.task for x in s.interruptions] == [2]  # "c" may not read the urgent exam
    # a reader whose session ends before the urgent exam would: not that one
    readers[1] = replace(readers[1], until=NOW + timedelta(minutes=10))
    _, s = _preempt_plan([URGENT_CT], readers, running, {9: {"a", "b"}, 1: {"a"}, 2: {"b"}, 3: {"c"}})
    assert [x.task for x in s.interruptions] == [1]


def test_two_urgent_exams_interrupt_two_readers_and_a_colleague_restarts_from_scratch() -> None:
    a = _reading(_task(1, minutes=60, ago=60), "a", started_ago=20)
    b = _reading(_task(2, minutes=60, ago=10), "b", started_ago=5)
    first, second = (_task(i, Priority.URGENT, minutes=30, due_in=timedelta(hours=1)) for i in (9, 8))
    c = Reader("c", NOW + timedelta(minutes=40))  # 40 + 30 × 1.5 > 60: too late for either
    _, s = _preempt_plan([first, second], [_busy("a", a), _busy("b", b), c], [a, b])
    assert {x.task for x in s.interruptions} == {1, 2}
    got = _by_task(s)
    assert {got[8].reader, got[9].reader} == {"a", "b"} and got[8].start == got[9].start == NOW
    assert (got[1].reader, got[1].end - got[1].start) == ("a", timedelta(minutes=42))  # 40 left + 2
    assert (got[2].reader, got[2].end - got[2].start) == ("b", timedelta(minutes=57))
    # when only "c" may go on with 1, "c" reads all of it
    eligible = {9: {"a", "b"}, 8: {"a", "b"}, 1: {"c"}, 2: {"b"}}
    _, s = _preempt_plan([first, second], [_busy("a", a), _busy("b", b), c], [a, b], eligible)
    got = _by_task(s)
    assert (got[1].reader, got[1].end - got[1].start) == ("c", timedelta(minutes=60))
    resumed = resumed_task(a, NOW, "a", 2.0)
    assert (resumed.minutes, resumed.minutes_for("a"), resumed.minutes_for("c")) == (42.0, 42.0, 60.0)
    assert resumed.ready_at == a.task.ready_at  # its place in the oldest-first order


def test_the_validator_checks_interruptions() -> None:
    mri = _reading(_task(1, minutes=60, ago=30), "a", started_ago=10)
    urgent = _reading(_task(2, Priority.URGENT, minutes=60), "b", started_ago=10)
    readers = [_busy("a", mri), _busy("b", urgent)]
    instance = DispatchInstance(NOW, [URGENT_CT], readers, {9: {"a", "b"}, 1: {"a", "b"}, 2: {"b"}}, [mri, urgent])
    fifteen, later = NOW + timedelta(minutes=15), NOW + timedelta(minutes=5)
    bad = Solution((Assignment(9, "b", NOW, fifteen),  # overlaps b's urgent reading, which goes on
                    Assignment(1, "a", NOW, NOW + timedelta(minutes=50))),  # too short (50 + 2), starts at once
                   (), (Interruption(1, "a", later, 9), Interruption(2, "b", NOW, 9), Interruption(7, "a", NOW, 9)))
    reasons = " | ".join(str(p) for p in assignment_problems(instance, bad))
    for expected in ("not being read", "may not be interrupted", "not now", "not an urgent task starting there",
                     "lasts 50", "overlap"):
        assert expected in reasons, expected
    dropped = Solution((Assignment(9, "a", NOW, fifteen),), (), (Interruption(1, "a", NOW, 9),))
    assert "task 1: neither assigned" in " | ".join(str(p) for p in assignment_problems(instance, dropped))


def test_plans_with_readings_in_progress_pass_the_validator() -> None:
    rng = random.Random(5)
    seen = 0
    for _ in range(60):
        instance = _random_instance(rng, rng.randint(1, 10), rng.randint(0, 20))
        pieces = [InProgress(_task(100 + k, rng.choice(list(Priority)), rng.choice([15, 20, 60]), ago=30),
                             r.id, NOW - timedelta(minutes=rng.choice([0, 5, 10])), rng.random() < 0.8)
                  for k, r in enumerate(instance.readers) if rng.random() < 0.7]
        by_reader = {x.reader: x for x in pieces}
        readers = [replace(r, free_at=x.started + timedelta(minutes=x.task.minutes)) if (x := by_reader.get(r.id))
                   else r for r in instance.readers]
        assert isinstance(instance.eligible, dict)
        eligible = dict(instance.eligible)
        eligible.update({x.task.id: {r.id for r in readers if rng.random() < 0.6} for x in pieces})
        full = replace(instance, readers=readers, running=pieces, eligible=eligible)
        solution = solve(full)
        assert assignment_problems(full, solution) == []
        seen += len(solution.interruptions)
    assert seen > 0


# ---------------------------------------------------------------- breaks (performing, other work)


def test_a_reading_pauses_over_the_breaks_it_spans() -> None:
    breaks = [(10.0, 20.0), (30.0, 40.0)]
    assert stretch(0.0, 5.0, breaks, 2.0) == (0.0, 5.0)
    assert stretch(5.0, 10.0, breaks, 2.0) == (5.0, 27.0)  # 5 read, the break, 2 to get back, 5 more
    assert stretch(5.0, 30.0, breaks, 2.0) == (5.0, 59.0)  # two breaks: 5 + 10 + 19 read = 30 + 2 × 2
    assert stretch(12.0, 3.0, breaks, 2.0) == (20.0, 23.0)  # in a break: after it


def test_only_an_urgent_exam_near_its_due_time_is_read_across_a_break() -> None:
    # radiologist "a" is free now until an ultrasound list 5 to 20 minutes from now, then free again
    # ("a2", the same person); "b" is free in 30 minutes
    at = lambda m: NOW + timedelta(minutes=m)  # noqa: E731
    a = Reader("a", NOW, at(5), "A", breaks=((at(5), at(20)),), last=at(240))
    readers = [a, Reader("a2", at(20), at(240), "A"), _reader("b", free_in=30)]
    urgent = _task(9, Priority.URGENT, minutes=15, due_in=timedelta(minutes=40))  # latest start in 25 min
    got = _by_task(_plan([urgent], readers)[1])[9]
    assert (got.reader, got.start, got.end) == ("a", NOW, at(32))  # 5 before, 15 paused, 2 + 10 after
    for task, rules in ((_task(1, minutes=15), None),  # routine: after the break, in one stretch
                        (_task(9, Priority.URGENT, minutes=15, due_in=timedelta(hours=1)), None),  # not yet near
                        (urgent, DispatchRules(pause_urgent=False)), (urgent, STRICT)):
        got = _by_task(_plan([task], readers, rules=rules)[1])[task.id]
        assert (got.reader, got.start, got.end) == ("a2", at(20), at(35)), (task, rules)
    # nor when it would end after the radiologist's day
    short = replace(a, last=at(30))
    assert _by_task(_plan([urgent], [short, *readers[1:]])[1])[9].reader == "a2"
    # the validator: a routine reading across the break, one of the wrong length, one ending too late
    routine = _task(1, minutes=15)
    instance = DispatchInstance(NOW, [routine, urgent], [short], {1: {"a"}, 9: {"a"}})
    bad = Solution((Assignment(1, "a", NOW, at(32)), Assignment(9, "a", at(1), at(34))), ())
    reasons = " | ".join(str(p) for p in assignment_problems(instance, bad))
    assert "1 is read across a break" in reasons and "lasts 33" in reasons and "ends after a's end 10:30" in reasons
