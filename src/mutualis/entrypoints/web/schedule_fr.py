"""The week optimiser's proposal as the coordinator's page shows it, in French: the figures
before and after with their gains, a site × day calendar of what moves in and out, and each
change with its reason (engines/schedule/explain.py codes, worded here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from mutualis.domain.territory import Territory
from mutualis.services.booking import to_local
from mutualis.services.schedule import ProposalSummary

DAYS_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
STATUS_FR = {"proposed": "à décider", "applied": "appliquée", "rejected": "rejetée"}
SOLVER_FR = {"OPTIMAL": "optimale (prouvée)", "FEASIBLE": "réalisable", "REFERENCE": "rien de mieux que le plan actuel"}

# figure, label, unit, decimals, lower is better
FIGURES: tuple[tuple[str, str, str, int], ...] = (
    ("past_due", "Patients après leur échéance", "%", 1),
    ("past_due_urgent", "Urgences après leur échéance", "%", 1),
    ("wait_mean_days", "Attente moyenne", "j", 2),
    ("wait_p90_days", "Attente du 9e décile", "j", 1),
    ("travel_mean_min", "Trajet moyen", "min", 1),
)


def day_fr(d: date) -> str:
    return f"{DAYS_FR[d.weekday()]} {d:%d/%m}"


def _days(n: object) -> str:
    k = int(str(n))
    return "1 jour" if k == 1 else f"{k} jours"


def _date_fr(iso: object) -> str:
    return date.fromisoformat(str(iso)).strftime("%d/%m")


def reason_fr(code: str, params: Mapping[str, Any], new: bool) -> str:
    """The reason of one change, in French (``new``: the order had no appointment yet)."""
    p = params
    if code == "first_available":
        return "nouvelle demande, placée au premier créneau libre"
    if code == "placed":
        text = f"placé à {p.get('site', '')} : le plan actuel n'avait aucun créneau"
    elif code == "unplaced":
        text = "aucun créneau possible dans l'horizon : reste à programmer"
    elif code == "moved_site":
        drive, days = int(p["extra_minutes"]), int(p["days_sooner"])
        route = f"{drive} min de route en plus" if drive > 0 else f"{-drive} min de route en moins" if drive < 0 \
            else "même trajet"
        when = f"{_days(days)} plus tôt" if days > 0 else f"{_days(-days)} plus tard" if days < 0 else "le même jour"
        text = f"à {p['site']} au lieu de {p['from_site']} : {route}, {when}"
    elif code == "meets_due_date":
        text = f"avancé de {_days(p['days'])} pour respecter son échéance du {_date_fr(p['due'])}"
    elif code == "earlier":
        text = f"avancé de {_days(p['days'])}"
    elif code == "later_within_due":
        text = (f"reporté de {_days(p['days'])}, toujours avant son échéance du {_date_fr(p['due'])}, pour laisser "
                "son créneau à un examen plus pressant")
    elif code == "later_late":
        text = (f"reporté de {_days(p['days'])}, après son échéance du {_date_fr(p['due'])}, pour éviter des retards "
                "plus graves ailleurs")
    elif code == "same_day":
        text = f"même jour, à {p['time']} au lieu de {p['before']}"
    else:
        text = code
    return f"nouvelle demande — par rapport au premier créneau libre : {text}" if new else text


@dataclass
class Gain:
    key: str
    label: str
    before: str
    after: str
    delta: str
    better: bool | None  # None: unchanged
    bar_before: float  # 0..100, for the paired bars
    bar_after: float


def _fmt(value: float, unit: str, decimals: int) -> str:
    if value != value:  # NaN: nothing placed
        return "—"
    shown = value * 100 if unit == "%" else value
    return f"{shown:.{decimals}f}".replace(".", ",") + (" %" if unit == "%" else f" {unit}")


def gains(p: ProposalSummary) -> list[Gain]:
    out = []
    for key, label, unit, decimals in FIGURES:
        a, b = float(p.before.get(key, float("nan"))), float(p.after.get(key, float("nan")))
        top = max(a, b, 1e-9) if a == a and b == b else 1.0
        diff = b - a if a == a and b == b else 0.0
        shown = abs(diff) * (100 if unit == "%" else 1)
        delta = "inchangé" if abs(shown) < 10 ** -decimals / 2 else (
            ("−" if diff < 0 else "+") + _fmt(abs(diff), unit, decimals).replace(" %", " pt"))
        out.append(Gain(key, label, _fmt(a, unit, decimals), _fmt(b, unit, decimals), delta,
                        None if delta == "inchangé" else diff < 0,
                        100 * a / top if a == a else 0, 100 * b / top if b == b else 0))  # fmt: skip
    return out


@dataclass
class Cell:
    arrivals: int = 0
    departures: int = 0
    new: int = 0

    @property
    def net(self) -> int:
        return self.arrivals - self.departures


@dataclass
class DiffCalendar:
    days: list[tuple[date, str]]
    sites: list[tuple[str, str]]
    cells: dict[tuple[str, date], Cell] = field(default_factory=dict)

    def cell(self, site: str, day: date) -> Cell:
        return self.cells.get((site, day), Cell())


@dataclass
class ChangeRow:
    order_id: int
    patient: str
    patient_id: int
    exam: str
    priority: str
    before: str
    after: str
    after_day: date | None
    reason: str
    code: str
    moved_site: bool


def changes_view(t: Territory, p: ProposalSummary, changes: Sequence[Mapping[str, Any]]
                 ) -> tuple[DiffCalendar, list[tuple[date | None, list[ChangeRow]]]]:  # fmt: skip
    """The site × day calendar of moves and the changes grouped by their new day."""
    equipment = {e.id: e for e in t.equipment}
    sites = {s.id: s.name for s in t.sites}
    exams = {x.code: x.label for x in t.exams}
    days = [p.start + timedelta(days=i) for i in range(p.days)]
    cal = DiffCalendar([(d, day_fr(d)) for d in days],
                       [(s.id, s.name) for s in t.sites if any(e.site == s.id for e in t.equipment)])  # fmt: skip

    def where(code: str | None, start: datetime | None) -> tuple[str, date | None, str]:
        if code is None or start is None:
            return "", None, "sans rendez-vous"
        e = equipment.get(code)
        local = to_local(start, t)
        site = e.site if e else ""
        return site, local.date(), f"{sites.get(site, site)} · {e.name if e else code} · {day_fr(local.date())} " \
                                   f"{local:%H:%M}"

    groups: dict[date | None, list[ChangeRow]] = defaultdict(list)
    for c in changes:
        s_before, d_before, before = where(c["before_equipment"], c["before_start"])
        s_after, d_after, after = where(c["after_equipment"], c["after_start"])
        new = c["before_equipment"] is None
        if d_before is not None:
            cal.cells.setdefault((s_before, d_before), Cell()).departures += 1
        if d_after is not None:
            cell = cal.cells.setdefault((s_after, d_after), Cell())
            cell.arrivals += 1
            cell.new += new
        groups[d_after].append(ChangeRow(
            c["order_id"], f"{c['last_name'].upper()} {c['first_name']}", c["patient_id"],
            exams.get(c["exam_code"], c["exam_code"]), c["priority"], before, after, d_after,
            reason_fr(c["code"], c["params"] or {}, new), c["code"],
            bool(s_before and s_after != s_before)))  # fmt: skip
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or date.min))
    return cal, ordered
