"""The ``mutualis`` command. One function per process; errors become messages in one place
(:func:`main`)."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mutualis.adapters.db.engine import upgrade
from mutualis.adapters.territory_file import read_territory_file, territory_document
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import MutualisError, NotFound, Problem, TerritoryFileError, ValidationError
from mutualis.domain.territory import Territory
from mutualis.services import accounts, territories

app = typer.Typer(
    help="Mutualis — run a pooled hospital platform (PIMM, FMIH).", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
territory_app = typer.Typer(help="Territories: load a territory file, list what is stored.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(territory_app, name="territory")
app.add_typer(user_app, name="user")
demand_app = typer.Typer(help="Generated demand (patients and orders) for demos and benchmarks.", no_args_is_help=True)
dicom_app = typer.Typer(help="DICOM: Modality Worklist and MPPS for the pooled machines.", no_args_is_help=True)
modality_app = typer.Typer(help="A simulated modality, for demos and tests.", no_args_is_help=True)
pacs_app = typer.Typer(help="The sites' PACS (DICOMweb).", no_args_is_help=True)
app.add_typer(dicom_app, name="dicom")
app.add_typer(modality_app, name="modality")
app.add_typer(pacs_app, name="pacs")
presence_app = typer.Typer(help="Who is present where (until rosters exist).", no_args_is_help=True)
app.add_typer(demand_app, name="demand")
app.add_typer(presence_app, name="presence")
reading_app = typer.Typer(help="The territory's reading worklist.", no_args_is_help=True)
app.add_typer(reading_app, name="reading")
roster_app = typer.Typer(help="Rosters of radiologists and radiographers, with the territory's on-call.",
                         no_args_is_help=True)
app.add_typer(roster_app, name="roster")
schedule_app = typer.Typer(help="The week optimiser: proposals to plan the territory's week.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

out = Console()
err = Console(stderr=True)


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _now() -> datetime:
    return datetime.now(UTC)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    container = bootstrap()
    upgrade(container.engine)
    out.print(f"[green]schema up to date[/green] ({container.engine.url.render_as_string(hide_password=True)})")


def _load(container: Container, file: Path) -> territories.LoadReport:
    territory = read_territory_file(file, container.communes)
    return territories.load_territory(
        container.uow(), territory, source=str(file), actor=_cli_actor(), address="cli", now=_now()
    )


@territory_app.command("load")
def territory_load(file: Annotated[Path, typer.Argument(help="territory file (TOML)")]) -> None:
    """Load a territory file; it is refused whole on any error, and loading it again updates in place."""
    container = bootstrap()
    report = _load(container, file)
    verb = "created" if report.created else "updated"
    counts = ", ".join(f"{n} {k}" for k, n in report.counts.items())
    out.print(f"[green]territory {report.territory} {verb}[/green]: {counts}")


def _summary_table(t: Territory) -> Table:
    table = Table(title=f"{t.name} ({t.id})")
    for column in ("site", "establishment", "commune", "equipment"):
        table.add_column(column)
    names = {e.finess: e.name for e in t.establishments}
    for s in t.sites:
        kit = [f"{e.modality.value if e.modality else e.kind.value} {e.name}" for e in t.equipment if e.site == s.id]
        table.add_row(s.id, names[s.establishment], s.insee, "\n".join(kit) or "—")
    return table


@territory_app.command("list")
def territory_list(fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List stored territories with their sites and equipment."""
    if fmt not in ("table", "json"):
        raise ValidationError(Problem("--format", "expected table or json"))
    container = bootstrap()
    stored = territories.all_territories(container.uow())
    if fmt == "json":
        sys.stdout.write(
            json.dumps([territory_document(t, container.communes) for t in stored], ensure_ascii=False, indent=2) + "\n"
        )
        return
    if not stored:
        out.print("no territory stored yet: mutualis territory load FILE")
    for t in stored:
        out.print(_summary_table(t))


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[Role, typer.Option(help="role of the account")],
    full_name: Annotated[str, typer.Option("--full-name", help="name shown in pages and the audit trail")],
    territory: Annotated[
        str | None, typer.Option(help="territory id (all territories for an admin without one)")
    ] = None,
    establishment: Annotated[list[str] | None, typer.Option(help="home establishment FINESS (repeatable)")] = None,
    site: Annotated[list[str] | None, typer.Option(help="home site id (repeatable)")] = None,
    rpps: Annotated[str | None, typer.Option(help="the practitioner this account belongs to")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="MUTUALIS_NEW_PASSWORD", help="asked for when not given")
    ] = None,
) -> None:
    """Create an account with a role and a home scope (its password is stored as an argon2 hash)."""
    container = bootstrap()
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    user = accounts.add_user(
        container.uow(),
        container.hasher,
        User(
            username=username,
            full_name=full_name,
            role=role,
            territory=territory,
            establishments=tuple(establishment or ()),
            sites=tuple(site or ()),
            rpps=rpps,
        ),
        password,
        actor=_cli_actor(),
        address="cli",
        now=_now(),
    )
    out.print(f"[green]user {user.username} created[/green] ({user.role.value})")


def _territory(container: Container, territory_id: str) -> Territory:
    with container.uow() as uow:
        t = uow.territories.get(territory_id)
    if t is None:
        raise NotFound("territory", territory_id)
    return t


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValidationError(Problem(name, "must be at least 1"))


def _presence(container: Container, t: Territory, start: date, days: int) -> int:
    from mutualis.engines.presence import default_presence
    from mutualis.services.booking import set_presence

    admin = User(_cli_actor(), "command line", Role.ADMIN)
    return set_presence(container.uow(), admin, t.id, start, start + timedelta(days=days - 1),
                        default_presence(t, start, days), address="cli", now=_now())


@contextmanager
def _stages(first: str, last: str) -> Iterator[Callable[[str, float], None]]:
    """A progress bar fed by an engine's ``progress(stage, fraction)`` callback; ``last`` when done."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                  TimeElapsedColumn(), console=out, refresh_per_second=4) as progress:  # fmt: skip
        task = progress.add_task(first, total=100)

        def report(stage: str, fraction: float) -> None:
            progress.update(task, description=stage, completed=round(100 * fraction))

        yield report
        progress.update(task, description=last, completed=100)


def _planner() -> User:
    return User(_cli_actor(), "command line", Role.ADMIN)


@schedule_app.command("optimize")
def schedule_optimize(
    territory: Annotated[str, typer.Option(help="territory id")],
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    days: Annotated[int, typer.Option(help="days to plan (1 to 28)")] = 7,
    time_limit: Annotated[float, typer.Option(help="seconds the solver may use")] = 30.0,
) -> None:
    """Plan the territory's week: orders waiting for a slot and appointments not yet announced
    to the patient, on every pooled machine; writes a proposal (nothing moves until applied)."""
    from mutualis.services import schedule

    container = bootstrap()
    t = _territory(container, territory)
    with _stages("reading the plan", "proposal stored") as report:
        pid = schedule.optimize(container.uow(), _planner(), t.id, container.communes, _day("--start", start), days,
                                time_limit_s=time_limit, progress=report, address="cli", now=_now())  # fmt: skip
    _print_proposal(container, pid)


def _print_proposal(container: Container, pid: int) -> None:
    from mutualis.services import schedule

    _, p, changes = schedule.proposal(container.uow(), _planner(), pid, address="cli", now=_now())
    table = Table(title=f"Proposal {p.id} for {p.territory}, {p.start} + {p.days} days ({p.status})")
    for column in ("", "current plan", "proposal"):
        table.add_column(column, justify="right" if column else "left")
    rows = (("past due", "past_due", "{:.1%}"), ("urgent past due", "past_due_urgent", "{:.1%}"),
            ("mean wait (days)", "wait_mean_days", "{:.2f}"), ("90th pct wait (days)", "wait_p90_days", "{:.1f}"),
            ("mean travel (min)", "travel_mean_min", "{:.1f}"), ("placed", "placed", "{:.0f}"),
            ("objective", "objective", "{:,.0f}"))  # fmt: skip
    for label, key, fmt in rows:
        table.add_row(label, fmt.format(p.before.get(key, float("nan"))), fmt.format(p.after.get(key, float("nan"))))
    out.print(table)
    out.print(f"{len(changes)} orders to book or move; solver {p.solver_status}, bound {p.bound:,}, "
              f"gap {p.gap:.2%}, {p.seconds:.1f} s")
    out.print(f"Review it on /planification/{p.id}, or: mutualis schedule apply {p.id}")


@schedule_app.command("show")
def schedule_show(proposal: Annotated[int, typer.Argument(help="proposal id")]) -> None:
    """A proposal's figures against the current plan."""
    _print_proposal(bootstrap(), proposal)


@schedule_app.command("apply")
def schedule_apply(proposal: Annotated[int, typer.Argument(help="proposal id")]) -> None:
    """Apply a proposal in one transaction (refused if the plan changed since)."""
    from mutualis.services import schedule

    container = bootstrap()
    n = schedule.apply(container.uow(), _planner(), proposal, container.communes, address="cli", now=_now())
    out.print(f"[green]proposal {proposal} applied[/green]: {n} orders booked or moved")


@schedule_app.command("announce")
def schedule_announce(
    territory: Annotated[str, typer.Option(help="territory id")],
    first: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    days: Annotated[int, typer.Option(help="days")] = 7,
) -> None:
    """Mark the appointments of these days as announced to the patients (convocations sent):
    the optimiser no longer moves them."""
    from mutualis.services import schedule

    _positive("--days", days)
    container = bootstrap()
    day = _day("--first", first)
    n = schedule.announce(container.uow(), _planner(), territory, day, day + timedelta(days=days - 1),
                          address="cli", now=_now())  # fmt: skip
    out.print(f"{n} appointments marked announced")


@roster_app.command("solve")
def roster_solve(
    territory: Annotated[str, typer.Option(help="territory id")],
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    days: Annotated[int, typer.Option(help="days to roster (1 to 63)")] = 28,
    time_limit: Annotated[float, typer.Option(help="seconds the solver may use")] = 60.0,
    publish: Annotated[bool, typer.Option("--publish/--draft", help="publish at once (it becomes the presence)")]
    = False,
) -> None:
    """Build the roster of a period: lawful (rest after nights, 48 h, 24 h stretches), covering
    each site, remote reading and the territory's on-call, on-call spread fairly. Explains in words
    when no roster exists."""
    from mutualis.services import rosters

    container = bootstrap()
    t = _territory(container, territory)
    with _stages("reading contracts, leave and bookings", "roster stored") as report:
        rid = rosters.solve_roster(container.uow(), _planner(), t.id, _day("--start", start), days,
                                   time_limit_s=time_limit, progress=report, address="cli", now=_now())  # fmt: skip
    if publish:
        rosters.publish(container.uow(), _planner(), rid, address="cli", now=_now())
    _print_roster(container, t, rid)


def _print_roster(container: Container, t: Territory, rid: int) -> None:
    from mutualis.services import rosters

    with container.uow() as uow:
        run = uow.rosters.run(rid)
    assert run is not None
    v = rosters.view(container.uow(), _planner(), t.id, run["start_day"], run["days"], run_id=rid)
    table = Table(title=f"Roster {rid} of {t.id}, {run['start_day']} + {run['days']} days ({run['status']}, "
                        f"solver {run['solver_status']}, {run['seconds']:.0f} s)")  # fmt: skip
    for column in ("person", "profession", "share", "h / week", "nights", "weekend days", "weekends"):
        table.add_column(column, justify="left" if column in ("person", "profession") else "right")
    for p in v.people:
        c = v.counters.get(p.rpps)
        if c is None:
            continue
        table.add_row(p.name, p.profession, f"{p.contract.share:g}", f"{c.weekly_hours:.1f}", str(c.nights),
                      str(c.weekend_days), str(c.weekends))  # fmt: skip
    out.print(table)
    notes = run["notes"]
    out.print(f"cover left short: {len(notes['short'])} shift-days; on-call spread (min, max) by contract: "
              f"{notes['spread']}")
    out.print(f"See it on /equipes?roster={rid}" + ("" if run["status"] == "published" else
                                                    f", publish it with: mutualis roster publish {rid}"))


@roster_app.command("publish")
def roster_publish(roster: Annotated[int, typer.Argument(help="roster id")]) -> None:
    """Publish a draft roster: it becomes the presence table (booking and reading follow it)."""
    from mutualis.services import rosters

    n = rosters.publish(bootstrap().uow(), _planner(), roster, address="cli", now=_now())
    out.print(f"[green]roster {roster} published[/green]: {n} presence rows")


@roster_app.command("contract")
def roster_contract(
    territory: Annotated[str, typer.Option(help="territory id")],
    rpps: Annotated[str, typer.Option(help="the practitioner's RPPS")],
    share: Annotated[float, typer.Option(help="share of full time, 0 to 1")] = 1.0,
    weekends: Annotated[bool, typer.Option("--weekends/--no-weekends")] = True,
    on_call: Annotated[bool, typer.Option("--on-call/--no-on-call")] = True,
) -> None:
    """Set a practitioner's contract (default for everyone: full time, weekends, on-call)."""
    from mutualis.domain.rosters import Contract
    from mutualis.services import rosters

    rosters.set_contract(bootstrap().uow(), _planner(), territory, Contract(rpps, share, weekends, on_call),
                         address="cli", now=_now())  # fmt: skip
    out.print(f"contract of {rpps}: {share:g} of full time, weekends {weekends}, on-call {on_call}")


@roster_app.command("leave")
def roster_leave(
    territory: Annotated[str, typer.Option(help="territory id")],
    rpps: Annotated[str, typer.Option(help="the practitioner's RPPS")],
    first: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option(help="last day, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="why")] = "congé annuel",
) -> None:
    """Record approved leave (a coordinator's entry; staff ask on the pages)."""
    from mutualis.domain.rosters import Leave
    from mutualis.services import rosters

    container = bootstrap()
    lid = rosters.request_leave(container.uow(), _planner(), territory, Leave(rpps, _day("--first", first),
                                _day("--last", last), reason), address="cli", now=_now())  # fmt: skip
    rosters.decide_leave(container.uow(), _planner(), lid, True, address="cli", now=_now())
    out.print(f"leave {lid} of {rpps} approved")


@reading_app.command("sweep")
def reading_sweep(territory: Annotated[str, typer.Option(help="territory id")]) -> None:
    """Lapse idle claims, escalate exams near their due time and, in push mode, assign waiting
    exams (run it every minute or so from cron or a timer; the worklist page also does it)."""
    from mutualis.services import reading

    container = bootstrap()
    t = _territory(container, territory)
    with container.uow() as uow:
        counts = reading.sweep(uow, t, _now())
        uow.commit()
    out.print(f"{t.id}: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"))


@presence_app.command("generate")
def presence_generate(
    territory: Annotated[str, typer.Option(help="territory id")],
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    days: Annotated[int, typer.Option(help="number of days")] = 90,
) -> None:
    """Fill the presence table from the practitioners' homes and privileges (a placeholder for rosters)."""
    _positive("--days", days)
    container = bootstrap()
    t = _territory(container, territory)
    n = _presence(container, t, _day("--start", start), days)
    out.print(f"[green]{n} presence shifts[/green] written for {t.id}")


def _day(name: str, value: str | None) -> date:
    if value is None:
        return _now().date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(Problem(name, f"{value!r} is not a date (YYYY-MM-DD)")) from exc


def _generate(container: Container, t: Territory, start: date, days: int, seed: int, book: bool) -> str:
    from mutualis.engines.demand import generate_demand
    from mutualis.services.demand import import_demand, serve_first_come

    communes = container.communes
    with out.status(f"generating {days} days of demand…"):
        generated = generate_demand(t, communes, start, days, seed)
    outcomes = []
    if book:
        with out.status(f"booking {len(generated)} orders first-come first-served…"):
            outcomes = serve_first_come(container.uow(), t, generated, communes, start, days)
    with out.status("storing…"):
        report = import_demand(container.uow(), t, generated, outcomes=outcomes, actor=_cli_actor(), now=_now())
    return (f"{report.orders} orders for {report.patients} new patients, "
            f"{report.appointments} booked first-come first-served")


@demand_app.command("generate")
def demand_generate(
    territory: Annotated[str, typer.Option(help="territory id")],
    days: Annotated[int, typer.Option(help="days of demand")] = 14,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same demand)")] = 1,
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD (default today)")] = None,
    book: Annotated[bool, typer.Option("--book/--no-book", help="also book them first-come first-served")] = False,
) -> None:
    """Generate patients and orders: communes by population, exam mix and urgency mix as documented settings."""
    _positive("--days", days)
    container = bootstrap()
    t = _territory(container, territory)
    out.print(f"[green]{t.id}[/green]: " + _generate(container, t, _day("--start", start), days, seed, book))


@app.command("bench")
def bench(
    name: Annotated[str, typer.Argument(help="booking, mwl, reading, schedule, roster or theatre")],
    json_file: Annotated[Path | None, typer.Option("--json", help="also write the results as JSON")] = None,
    days: Annotated[int, typer.Option(help="booking: days of demand for the pooled-versus-silos comparison; "
                                           "reading: days simulated (seeds --seed onwards), pooled")] = 28,
    seed: int = 1,
    timing: Annotated[bool, typer.Option("--timing/--no-timing", help="the PostgreSQL timings")] = True,
    searches: Annotated[int, typer.Option(help="slot searches to time")] = 1000,
    appointments: Annotated[int, typer.Option(help="appointments on the books for the timings")] = 50_000,
    database_url: Annotated[str | None, typer.Option(help="PostgreSQL URL (default: a fresh database)")] = None,
    sizes: Annotated[str, typer.Option(help="mwl: scheduled items, comma-separated")] = "100,10000",
    queries: Annotated[int, typer.Option(help="mwl: queries timed one per association")] = 30,
    per_association: Annotated[int, typer.Option(help="mwl: queries sent over one association")] = 50,
    backend: Annotated[str, typer.Option(help="mwl: sqlite or postgresql (a fresh database)")] = "sqlite",
    territory: Annotated[str, typer.Option(help="reading: territory id (territories/ID.toml)")] = "aveyron-pimm",
    size: Annotated[str | None, typer.Option(help="schedule: one size, pimm, ght or region (default: all three)")]
    = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="schedule, roster, theatre: time limit, "
                                                                          "seconds")] = None,
    instance: Annotated[Path | None, typer.Option(help="roster: one instance file (Curtois & Qu format)")] = None,
    instances: Annotated[str, typer.Option(help="roster: shipped instance numbers, comma-separated")]
    = "1,2,3,4,5,6,7,8,9,10,11,12",
    weeks: Annotated[int, typer.Option(help="theatre: weeks of waiting cases")] = 1,
    roster: Annotated[bool, typer.Option("--roster/--no-roster", help="reading: radiologists from a roster solved in "
                                                                     "--time-limit seconds (default 30)")] = False,
    hindsight: Annotated[bool, typer.Option("--hindsight/--no-hindsight", help="reading: the hindsight bound of "
                                                                           "every pooled day too (CP-SAT, seconds "
                                                                           "a day)")] = False,
) -> None:
    """Run a benchmark: ours beside the baseline (or the best known results), in one run."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "bench").is_dir():
        raise MutualisError("benchmarks run from a checkout of the project (bench/ not found)")
    sys.path.insert(0, str(root))
    if name == "mwl":
        try:
            counts = [int(s) for s in sizes.split(",") if s.strip()]
        except ValueError as exc:
            raise ValidationError(Problem("--sizes", "expected whole numbers separated by commas")) from exc
        if not counts or min(counts) < 1 or queries < 1 or per_association < 1:
            raise ValidationError(Problem("--sizes", "sizes, --queries and --per-association must be positive"))
        if backend not in ("sqlite", "postgresql"):
            raise ValidationError(Problem("--backend", "sqlite or postgresql"))
        from bench.mwl import run as run_mwl

        run_mwl(json_file, sizes=counts, queries=queries, per_association=per_association, seed=seed,
                backend=backend)
        return
    if name == "reading":
        if not (root / "territories" / f"{territory}.toml").is_file():
            raise ValidationError(Problem("--territory", f"no territory file territories/{territory}.toml"))
        from bench.reading import run as run_reading

        _positive("--days", days)
        if time_limit is not None and time_limit <= 0:
            raise ValidationError(Problem("--time-limit", "must be positive"))
        run_reading(json_file, territory=territory, seed=seed, seeds=tuple(range(seed, seed + days)),
                    roster_seconds=(time_limit or 30.0) if roster else None, hindsight_days=hindsight)
        return
    if time_limit is not None and time_limit <= 0:
        raise ValidationError(Problem("--time-limit", "must be positive"))
    if name == "schedule":
        from bench.schedule import SIZES
        from bench.schedule import run as run_schedule

        if size is not None and size not in SIZES:
            raise ValidationError(Problem("--size", f"expected one of {', '.join(SIZES)}"))
        chosen = (size,) if size else tuple(SIZES)
        run_schedule(json_file, sizes=chosen, seed=seed,
                     time_limits={s: time_limit for s in chosen} if time_limit else None)
        return
    if name == "roster":
        _bench_roster(json_file, instance, instances, time_limit)
        return
    if name == "theatre":
        if weeks < 1:
            raise ValidationError(Problem("--weeks", "must be at least 1"))
        from bench.theatre import run as run_theatre

        run_theatre(seed, time_limit or 30.0, weeks, json_file)
        return
    if name != "booking":
        raise ValidationError(Problem("NAME", f"unknown benchmark {name!r} (available: booking, mwl, reading, "
                                              "schedule, roster, theatre)"))
    from bench.booking import run

    run(json_file, days=days, seed=seed, timing=timing, searches=searches, appointments=appointments,
        database_url=database_url)


def _bench_roster(json_file: Path | None, instance: Path | None, instances: str, time_limit: float | None) -> None:
    from bench.roster import run_all, run_instance

    if instance is None:
        try:
            numbers = [int(x) for x in instances.split(",") if x.strip()]
        except ValueError as exc:
            raise ValidationError(Problem("--instances", "expected numbers 1 to 12 separated by commas")) from exc
        if not numbers or not all(1 <= n <= 12 for n in numbers):
            raise ValidationError(Problem("--instances", "expected numbers 1 to 12 separated by commas"))
        run_all(time_limit or 60.0, json_file, numbers=numbers)
        return
    if not instance.is_file():
        raise ValidationError(Problem("--instance", f"no such file: {instance}"))
    result = run_instance(instance, time_limit or 60.0, json_file)
    verdict = "valid" if result["valid"] else "INVALID: " + "; ".join(map(str, result.get("problems", [])[:5]))
    out.print(f"{instance.name}: objective {result['objective']}, {verdict}, {result['seconds']:.1f} s")


@dicom_app.command("serve")
def dicom_serve(
    port: Annotated[int, typer.Option(help="TCP port")] = 11112,
    ae_title: Annotated[str | None, typer.Option("--ae-title", help="our AE title (MUTUALIS_DICOM_AE_TITLE)")] = None,
    host: str = "127.0.0.1",
) -> None:
    """Serve Verification, Modality Worklist FIND and MPPS to the territories' machines."""
    import logging

    from mutualis.adapters.dicom.scp import DicomService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    container = bootstrap()
    DicomService(container, ae_title or container.settings.dicom_ae_title).start(host, port, block=True)


@modality_app.command("simulate")
def modality_simulate(
    ae: Annotated[str, typer.Option("--ae", help="the machine's AE title")],
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Mutualis DICOM port")] = 11112,
    called: Annotated[str | None, typer.Option(help="Mutualis AE title")] = None,
    day: Annotated[str | None, typer.Option(help="worklist day, YYYY-MM-DD (default today)")] = None,
    count: Annotated[int, typer.Option(help="exams to perform")] = 1,
    pacs_url: Annotated[str | None, typer.Option(help="DICOMweb URL to store images (default: the site's PACS)")]
    = None,
) -> None:
    """Query the worklist as machine AE, perform the first exams: MPPS in progress, a synthetic study
    stored in the PACS, MPPS completed."""
    from mutualis.adapters.dicom.simulator import Modality

    container = bootstrap()
    url = pacs_url or _site_pacs(container, ae)
    sim = Modality(ae, host, port, called or container.settings.dicom_ae_title, pacs_url=url)
    done = sim.perform_day(_day("--day", day), count)
    for line in done:
        out.print(line)
    if not done:
        out.print("nothing on the worklist")


def _site_pacs(container: Container, ae: str) -> str | None:
    with container.uow() as uow:
        territory_id = uow.worklist.ae_titles().get(ae)
        t = uow.territories.get(territory_id) if territory_id else None
    if t is None:
        raise NotFound("machine with AE title", ae)
    site = next(e.site for e in t.equipment if e.ae_title == ae)
    return t.site(site).pacs_url


@pacs_app.command("check")
def pacs_check(territory: Annotated[str, typer.Option(help="territory id")]) -> None:
    """Ask each site's PACS which acquired exams have their images; mark them ready for reading."""
    from mutualis.adapters.dicom.pacs import DicomWebPacs
    from mutualis.services.dicom import check_pacs

    container = bootstrap()
    found = check_pacs(container.uow(), territory, DicomWebPacs, now=_now())
    out.print(f"{len(found)} exam(s) ready for reading")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="worker processes (stateless; PostgreSQL in production)")] = 1,
          ) -> None:
    """Serve the web pages, the JSON API and FHIR over HTTP."""
    container = bootstrap()
    if workers > 1:
        import uvicorn

        container.settings.require_secret()
        uvicorn.run("mutualis.entrypoints.web.app:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")
        return
    _run_web(container, host, port)


def _run_web(container: Container, host: str, port: int) -> None:
    import uvicorn

    from mutualis.entrypoints.web.app import create_app

    uvicorn.run(create_app(container), host=host, port=port, log_level="info")


def _territory_files() -> list[Path]:
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        folder = base / "territories"
        if folder.is_dir() and (files := sorted(folder.glob("*.toml"))):
            return files
    raise MutualisError("no territories/ folder with territory files found (run from the project folder)")


def _demo_secret(settings: Settings) -> Settings:
    if settings.secret_key:
        return settings
    key_file = Path("var") / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return settings.with_secret(key_file.read_text().strip())


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    dicom_port: Annotated[int, typer.Option(help="DICOM port: Verification, Modality Worklist, MPPS")] = 11112,
    hl7_port: Annotated[int, typer.Option(help="HL7 MLLP port (comes with the interoperability issue)")] = 2575,
    seed: Annotated[int, typer.Option(help="seed of the generated demand")] = 1,
    days: Annotated[int, typer.Option(help="days of generated demand")] = 14,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, then exit")] = False,
) -> None:
    """Run the whole platform on the embedded default: ./var/ SQLite, both example territories, demo
    accounts, then web + API."""
    from mutualis.entrypoints.demo import DEMO_PASSWORD, ensure_demo_accounts, seed_reading

    container = bootstrap(_demo_secret(Settings.from_env()))
    with out.status("migrating the database…"):
        upgrade(container.engine)
    for file in _territory_files():
        report = _load(container, file)
        out.print(f"territory [bold]{report.territory}[/bold] loaded from {file.name}")
    users = ensure_demo_accounts(container)
    today = _now().date()
    for territory_id in ("aveyron-pimm",):
        t = _territory(container, territory_id)
        _presence(container, t, today - timedelta(days=1), days + t.booking.horizon_days + 2)
        with container.uow() as uow:
            has_orders = bool(uow.orders.list(t.id, limit=1))
        if not has_orders:
            out.print(f"{t.id}: " + _generate(container, t, today, days, seed, book=True))
        reader = next((u for u in users if u.role is Role.RADIOLOGIST and u.territory == t.id and u.rpps), None)
        if reader is not None and reader.rpps:
            added = seed_reading(container, t, reader.rpps, _now())
            out.print(f"{t.id}: {added} exams waiting to be read; {reader.username} is on duty today and tomorrow")
    surgeon = next((u for u in users if u.role is Role.FEDERATION_SURGEON and u.territory == "vienne-fmih"), None)
    if surgeon is not None:
        from mutualis.entrypoints.demo import seed_federation

        with container.uow() as uow:
            vienne = uow.territories.get("vienne-fmih")
        if vienne is not None:
            n = seed_federation(container, vienne, surgeon, _now())
            out.print(f"vienne-fmih: {n} referrals from Montmorillon waiting for the CHU's answer, a tumour board "
                      "next week (/federation)")
    table = Table(title=f"Demo accounts (password for all: {DEMO_PASSWORD})")
    for column in ("username", "role", "scope"):
        table.add_column(column)
    for u in users:
        table.add_row(u.username, u.role.value, ", ".join([*(u.sites or ()), *(u.establishments or ())]) or "all")
    out.print(table)
    out.print(f"Pages: http://{host}:{port}/   API: http://{host}:{port}/docs   Health: http://{host}:{port}/healthz")
    out.print(f"Week planning (as coordination.aveyron): http://{host}:{port}/planification — the generated demand "
              "was placed first-come first-served and not yet announced, so the optimiser may move it")
    out.print(f"DICOM worklist + MPPS: AE {container.settings.dicom_ae_title} on {host}:{dicom_port} "
              f"(try: mutualis modality simulate --ae RDZ_IRM1 --port {dicom_port})")
    out.print(f"[dim]HL7 on :{hl7_port} comes with the interoperability issue.[/dim]")
    if not no_serve:
        from mutualis.adapters.dicom.scp import DicomService

        dicom_server = DicomService(container, container.settings.dicom_ae_title).start(host, dicom_port)
        try:
            _run_web(container, host, port)
        finally:
            if dicom_server is not None:
                dicom_server.shutdown()


def main() -> None:
    try:
        app()
    except TerritoryFileError as exc:
        err.print(f"[red]{exc.args[0].splitlines()[0]}[/red]")
        for p in exc.problems:
            err.print(f"  {exc.source}: {p.location}: {p.reason}", markup=False, highlight=False)
        sys.exit(2)
    except ValidationError as exc:
        err.print(str(exc), markup=False, highlight=False, style="red")
        sys.exit(2)
    except MutualisError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, style="red")
        sys.exit(1)


if __name__ == "__main__":
    main()
