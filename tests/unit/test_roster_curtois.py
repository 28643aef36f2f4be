"""The Curtois & Qu format (Instance1 read, bad input refused with its section and line, dump/parse
round trip), the instance generator (lawful by construction) and the solver (a valid roster on a
small generated instance; Instance1 to its optimum, 607)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from mutualis.domain.errors import ValidationError
from mutualis.engines.roster.curtois import dump, dump_roster, load, parse, parse_roster
from mutualis.engines.roster.generator import generate
from mutualis.engines.roster.solve import solve
from mutualis.engines.roster.validate import objective, roster_problems

INSTANCES = Path(str(resources.files("mutualis").joinpath("data/curtois")))


def test_instance1_is_read() -> None:
    inst = load(INSTANCES / "Instance1.txt")
    assert inst.name == "Instance1"
    assert inst.days == 14 and len(inst.shifts) == 1 and len(inst.staff) == 8
    a = inst.staff[0]
    assert (a.id, a.max_of("D"), a.max_minutes, a.min_minutes) == ("A", 14, 4320, 3360)
    assert (a.max_consecutive, a.min_consecutive, a.min_days_off, a.max_weekends) == (5, 2, 2, 1)
    assert len(inst.days_off) == 8 and len(inst.cover) == 14
    assert sum(r.on for r in inst.requests) == 21 and sum(not r.on for r in inst.requests) == 5
    assert inst.cover[1].requirement == 7 and inst.cover[1].under_weight == 100


def test_all_twelve_instances_parse() -> None:
    sizes = [(load(INSTANCES / f"Instance{n}.txt").weeks, len(load(INSTANCES / f"Instance{n}.txt").staff))
             for n in range(1, 13)]  # fmt: skip
    assert sizes[0] == (2, 8) and sizes[11] == (4, 60)


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as err:
        parse(text)
    return [str(p) for p in err.value.problems]


GOOD = (INSTANCES / "Instance1.txt").read_text()


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(needle))


@pytest.mark.parametrize(("old", "new", "section", "why"), [
    ("D,480,", "D,eight hours,", "SECTION_SHIFTS", "length 'eight hours' is not a whole number"),
    ("A,D=14,4320", "A,X=14,4320", "SECTION_STAFF", "max shifts 'X=14': expected SHIFT=number with a known shift"),
    ("B,5\n", "B,5,99\n", "SECTION_DAYS_OFF", "day 99 is past the horizon of 14 days"),
    ("A,2,D,2", "Z,2,D,2", "SECTION_SHIFT_ON_REQUESTS", "unknown staff 'Z'"),
    ("C,12,D,1", "C,12,D", "SECTION_SHIFT_OFF_REQUESTS", "3 fields, expected 4"),
    ("0,D,5,100,1", "0,N,5,100,1", "SECTION_COVER", "unknown shift 'N'"),
    ("0,D,5,100,1", "0,D,-5,100,1", "SECTION_COVER", "requirement -5 is below 0"),
], ids=["number", "max-shifts", "day", "staff", "fields", "cover-shift", "negative"])  # fmt: skip
def test_bad_input_names_section_and_line(old: str, new: str, section: str, why: str) -> None:
    bad = GOOD.replace(old, new, 1)
    where = f"{section} line {_line(bad, new.rstrip())}"
    problems = _problems(bad)
    assert f"{where}: {why}" in problems, problems


def test_bad_sections_are_named() -> None:
    assert "line 65: unknown section SECTION_KOVER" in _problems(GOOD.replace("SECTION_COVER", "SECTION_KOVER"))
    assert "SECTION_STAFF: section missing" in _problems(GOOD.replace("SECTION_STAFF", "# no staff"))
    doubled = GOOD + "SECTION_COVER\n0,D,1,100,1\n"
    assert any("section given twice" in p for p in _problems(doubled))


def test_dump_parse_round_trip() -> None:
    for n in (1, 12):
        inst = load(INSTANCES / f"Instance{n}.txt")
        again = parse(dump(inst), inst.name)
        assert again == inst
    small, planted = generate(2, 5, 3, seed=3)
    assert parse(dump(small), small.name) == small
    assert parse_roster(small, dump_roster(small, planted)) == planted


def test_generator_is_seeded_and_lawful_by_construction() -> None:
    a, planted = generate(4, 12, 5, seed=7)
    assert generate(4, 12, 5, seed=7)[0] == a
    assert generate(4, 12, 5, seed=8)[0] != a
    assert (a.days, len(a.staff), len(a.shifts)) == (28, 12, 5)
    assert roster_problems(a, planted) == []
    for seed in range(5):  # other sizes, other seeds
        inst, roster = generate(1 + seed, 3 + 4 * seed, 1 + 3 * seed, seed=seed)
        assert roster_problems(inst, roster) == []


def test_generator_reaches_the_large_size_quickly() -> None:
    inst, planted = generate(52, 150, 32, seed=1)
    assert (inst.days, len(inst.staff), len(inst.shifts)) == (364, 150, 32)
    assert roster_problems(inst, planted) == []


def test_solver_gives_a_valid_roster_on_a_generated_instance() -> None:
    inst, planted = generate(4, 10, 4, seed=2)
    sol = solve(inst, 6.0)
    assert sol.roster is not None and sol.objective is not None
    assert roster_problems(inst, sol.roster) == []
    assert sol.objective == objective(inst, sol.roster)
    assert sol.bound <= sol.objective <= objective(inst, planted)


def test_solver_reaches_the_optimum_of_instance1() -> None:
    inst = load(INSTANCES / "Instance1.txt")
    sol = solve(inst, 20.0)
    assert sol.roster is not None and roster_problems(inst, sol.roster) == []
    assert sol.objective == objective(inst, sol.roster) == 607
    assert sol.status == "OPTIMAL" and sol.seconds < 20
