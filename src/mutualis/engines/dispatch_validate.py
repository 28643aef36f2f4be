"""The solver-free check of a dispatch plan (engines/dispatch.py): every rule a
:class:`~mutualis.engines.dispatch.Solution` must keep, including its interruptions."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from mutualis.domain.errors import Problem
from mutualis.domain.orders import Priority
from mutualis.engines.dispatch import DispatchInstance, Solution, allows, reading_end, resumed_task

_MINUTE = timedelta(minutes=1)


def assignment_problems(instance: DispatchInstance, solution: Solution) -> list[Problem]:
    """Every rule a solution breaks: unknown or ineligible pairs, a task given twice or dropped,
    a start before the task is ready or the reader is free, a wrong length (its expected minutes,
    plus the reader's breaks it pauses over and ``resume_minutes`` each: only an urgent task may
    pause, :class:`~mutualis.engines.dispatch.DispatchRules`, starting before the reader's
    ``until`` and ending by their ``last``), an end after the reader's ``until``, a person
    reading two tasks at once (the readings in progress included, until they end or are
    interrupted). Interruptions: only of a reading in progress, once, now,
    never of an urgent or non-interruptible reading, each for an urgent task that starts at once
    on that reader; the interrupted task must then be assigned or reported unassigned, with the
    length of :func:`resumed_task` (what was read plus what is left is its length plus the
    resumption cost, for the person who started it; its full length for anyone else)."""
    tasks = {t.id: t for t in instance.tasks}
    readers = {r.id: r for r in instance.readers}
    running = {x.task.id: x for x in instance.running}
    problems: list[Problem] = []
    seen: set[int] = set()
    by_person: dict[str, list[tuple[datetime, datetime, int]]] = {}
    stopped: dict[str, datetime] = {}  # reader → when its reading was interrupted
    for k, x in enumerate(solution.interruptions):
        where = f"interruptions[{k}]"
        piece = running.get(x.task)
        reader = readers.get(x.reader)
        if piece is None or reader is None or piece.reader != x.reader:
            problems.append(Problem(where, f"task {x.task} is not being read by {x.reader!r}"))
            continue
        if x.task in tasks:
            problems.append(Problem(where, f"task {x.task} interrupted twice"))
        if piece.task.priority is Priority.URGENT or not piece.interruptible:
            problems.append(Problem(where, f"task {x.task} may not be interrupted (urgent or with a patient)"))
        if x.at != instance.now:
            problems.append(Problem(where, f"task {x.task} interrupted at {x.at:%H:%M}, not now"))
        by = tasks.get(x.by)
        if by is None or by.priority is not Priority.URGENT or not any(
                a.task == x.by and a.reader == x.reader and a.start == x.at for a in solution.assignments):
            problems.append(Problem(where, f"task {x.task} interrupted for {x.by}, not an urgent task starting "
                                           "there at once"))
        tasks[x.task] = resumed_task(piece, x.at, reader.who, instance.resume_minutes)
        stopped[x.reader] = x.at
    for piece in instance.running:  # a reading in progress keeps its reader until it ends or stops
        reader = readers.get(piece.reader)
        if reader is not None:
            until = stopped.get(piece.reader, reader.free_at)
            if piece.started < until:
                by_person.setdefault(reader.who, []).append((piece.started, until, piece.task.id))
    for k, a in enumerate(solution.assignments):
        where = f"assignments[{k}]"
        task, reader = tasks.get(a.task), readers.get(a.reader)
        if task is None or reader is None:
            problems.append(Problem(where, f"unknown task {a.task} or reader {a.reader!r}"))
            continue
        if a.task in seen:
            problems.append(Problem(where, f"task {a.task} assigned twice"))
        seen.add(a.task)
        if not allows(instance.eligible, a.task, a.reader):
            problems.append(Problem(where, f"reader {a.reader} is not eligible for task {a.task}"))
        if a.start < max(instance.now, task.ready_at, stopped.get(a.reader, reader.free_at)):
            problems.append(Problem(where, f"task {a.task} starts before it is ready or {a.reader} is free"))
        minutes = task.minutes_for(reader.who)
        paused = reading_end(reader.breaks, a.start, minutes, instance.resume_minutes)
        across = paused != a.start + timedelta(minutes=minutes)
        if across and task.priority is not Priority.URGENT:
            problems.append(Problem(where, f"task {a.task} is read across a break of {a.reader}, not urgent"))
        if abs((a.end - paused) / _MINUTE) > 1e-6:
            problems.append(Problem(where, f"task {a.task} lasts {(a.end - a.start) / _MINUTE:g} min, "
                                           f"not {(paused - a.start) / _MINUTE:g}"))
        end_by = (reader.last or reader.until) if across else reader.until
        if end_by is not None and a.end > end_by:
            problems.append(Problem(where, f"task {a.task} ends after {a.reader}'s end {end_by:%H:%M}"))
        if across and reader.until is not None and a.start >= reader.until:
            problems.append(Problem(where, f"task {a.task} starts after {a.reader}'s end {reader.until:%H:%M}"))
        by_person.setdefault(reader.who, []).append((a.start, a.end, a.task))
    for who, items in by_person.items():
        items.sort()
        for (_, end, first), (start, _, second) in pairwise(items):
            if start < end:
                problems.append(Problem(f"reader {who}", f"tasks {first} and {second} overlap"))
    missing = set(tasks) - seen - set(solution.unassigned)
    problems += [Problem(f"task {t}", "neither assigned nor reported unassigned") for t in sorted(missing)]
    return problems
