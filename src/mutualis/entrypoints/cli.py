"""The ``mutualis`` command. One function per process; errors become messages in one place
(:func:`main`)."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from datetime import UTC, datetime
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
from mutualis.domain.errors import MutualisError, Problem, TerritoryFileError, ValidationError
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


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the web pages, the JSON API and FHIR over HTTP."""
    container = bootstrap()
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
    dicom_port: Annotated[int, typer.Option(help="DICOM MWL/MPPS port (comes with the DICOM issue)")] = 11112,
    hl7_port: Annotated[int, typer.Option(help="HL7 MLLP port (comes with the interoperability issue)")] = 2575,
    seed: Annotated[int, typer.Option(help="seed of the generated demand")] = 1,
    days: Annotated[int, typer.Option(help="days of generated demand")] = 14,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, then exit")] = False,
) -> None:
    """Run the whole platform on the embedded default: ./var/ SQLite, both example territories, demo
    accounts, then web + API."""
    from mutualis.entrypoints.demo import DEMO_PASSWORD, ensure_demo_accounts

    container = bootstrap(_demo_secret(Settings.from_env()))
    with out.status("migrating the database…"):
        upgrade(container.engine)
    for file in _territory_files():
        report = _load(container, file)
        out.print(f"territory [bold]{report.territory}[/bold] loaded from {file.name}")
    users = ensure_demo_accounts(container)
    table = Table(title=f"Demo accounts (password for all: {DEMO_PASSWORD})")
    for column in ("username", "role", "scope"):
        table.add_column(column)
    for u in users:
        table.add_row(u.username, u.role.value, ", ".join([*(u.sites or ()), *(u.establishments or ())]) or "all")
    out.print(table)
    out.print(f"Pages: http://{host}:{port}/   API: http://{host}:{port}/docs   Health: http://{host}:{port}/healthz")
    out.print(
        f"[dim]DICOM on :{dicom_port} and HL7 on :{hl7_port} come with their issues; "
        f"demand (--seed {seed} --days {days}) with the booking issue.[/dim]"
    )
    if not no_serve:
        _run_web(container, host, port)


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
