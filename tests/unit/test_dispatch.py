"""Push dispatch: the rules, the order, the choice, and the validator (which needs no solver)."""

import random
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

from mutualis.domain.orders import Priority
from mutualis.domain.reading import ReadingTask
from mutualis.domain.reading_settings import ReadingSettings, TaskKind
from mutualis.domain.territory import Modality
from mutualis.engines.dispatch import (
    STRICT,
    Assignment,
    DispatchInstance,
    DispatchRules,
    DispatchTask,
    Reader,
    Solution,
    assignment_problems,
    dispatch_now,
    dispatch_task,
    solve,
)

NOW = datetime(2026, 11, 24, 10, 0)


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
    rules = DispatchRules(head_start={Priority.INPATIENT: 60.0}, critical=0.0)
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
    _, s = _plan([_task(1), _task(2)], [_reader("a", load=120), _reader("b", load=30), _reader("c", load=60)])
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
        for rules in (None, STRICT):
            now = dispatch_now(NOW, instance.tasks, idle, instance.eligible, rules)
            assert sorted(now, key=lambda a: a.task) == sorted(solve(instance, rules).starting(NOW),
                                                               key=lambda a: a.task)
            assert len({a.reader for a in now}) == len(now)  # one reading at a time per idle reader


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
    assert dispatch_task(task) == DispatchTask(7, Priority.URGENT, NOW, NOW + timedelta(hours=1), 15.0)
    assert dispatch_task(task, ReadingSettings(reading_minutes={"CT": 12.0})).minutes == 12.0
