"""Territory files (TOML) ↔ :class:`~mutualis.domain.territory.Territory`.

:func:`parse_territory` refuses a file whole: it reads every section, collects every
problem (shape here, rules in :func:`~mutualis.domain.territory.territory_problems`), and
raises one :class:`TerritoryFileError` naming file, key path and reason for each. The field
names are those of the file, of the JSON API and of ``territory list --format json``:
:func:`territory_document` writes the same shape back.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from mutualis.domain.errors import Problem, TerritoryFileError
from mutualis.domain.reading_settings import ReadingMode, ReadingSettings, settings_problems
from mutualis.domain.territory import (
    REPORT_SECTIONS,
    BookingSettings,
    Closure,
    Commune,
    Convention,
    ConventionKind,
    Equipment,
    EquipmentKind,
    Establishment,
    Exam,
    Modality,
    Platform,
    Practitioner,
    Privilege,
    Profession,
    Site,
    Territory,
    TimeRange,
    TravelSettings,
    territory_problems,
)

E = TypeVar("E", bound=StrEnum)
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_MISSING = object()


class _Reader:
    """Reads one table of the file, remembering every problem instead of stopping."""

    def __init__(self, problems: list[Problem], path: str, table: Any, allowed: set[str]) -> None:
        self.problems, self.path = problems, path
        self.table: Mapping[str, Any] = table if isinstance(table, dict) else {}
        if not isinstance(table, dict):
            problems.append(Problem(path, "expected a table"))
        for key in self.table:
            if key not in allowed:
                problems.append(
                    Problem(f"{path}.{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")
                )

    def _bad(self, key: str, reason: str) -> None:
        self.problems.append(Problem(f"{self.path}.{key}" if self.path else key, reason))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        value = self.table.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self._bad(key, "required")
            return None if default is _MISSING else default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self._bad(key, f"expected {names}, got {type(value).__name__}")
            return None if default is _MISSING else default
        return value

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, str, default)
        if isinstance(value, str) and not value.strip() and default is _MISSING:
            self._bad(key, "must not be empty")
        return value

    def slug(self, key: str) -> Any:
        value = self.get(key, str)
        if isinstance(value, str) and not _SLUG_RE.match(value):
            self._bad(key, "an identifier is lower-case letters, digits, '-' or '_'")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        bad = [v for v in values if not isinstance(v, str)]
        if bad:
            self._bad(key, "expected a list of strings")
        return tuple(v for v in values if isinstance(v, str))

    def enum(self, key: str, enum: type[E], default: Any = _MISSING) -> Any:
        value = self.get(key, str, default)
        if value is None or isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            self._bad(key, f"unknown {key} {value!r} (expected one of: {', '.join(m.value for m in enum)})")
            return None

    def enums(self, key: str, enum: type[E]) -> tuple[E, ...]:
        out: list[E] = []
        for i, value in enumerate(self.strings(key)):
            try:
                out.append(enum(value))
            except ValueError:
                self._bad(
                    f"{key}[{i}]", f"unknown value {value!r} (expected one of: {', '.join(m.value for m in enum)})"
                )
        return tuple(out)

    def day(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, date, default)
        if isinstance(value, datetime):
            self._bad(key, "expected a date (YYYY-MM-DD), got a date-time")
            return None
        return value

    def tables(self, key: str) -> list[tuple[str, Any]]:
        values = self.get(key, list, [])
        return [(f"{self.path}.{key}[{i}]" if self.path else f"{key}[{i}]", v) for i, v in enumerate(values)]


def _hours(r: _Reader) -> dict[str, tuple[TimeRange, ...]]:
    table = r.get("opening_hours", dict, {})
    out: dict[str, tuple[TimeRange, ...]] = {}
    for day, ranges in table.items():
        where = f"{r.path}.opening_hours.{day}"
        if not isinstance(ranges, list):
            r.problems.append(Problem(where, 'expected a list like ["08:00-12:30", "13:30-18:00"]'))
            continue
        parsed: list[TimeRange] = []
        for i, text in enumerate(ranges):
            m = _HOURS_RE.match(text) if isinstance(text, str) else None
            if m is None:
                r.problems.append(Problem(f"{where}[{i}]", f'{text!r} is not "HH:MM-HH:MM"'))
                continue
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if m1 >= 60 or m2 >= 60 or h1 > 24 or h2 > 24:
                r.problems.append(Problem(f"{where}[{i}]", f"{text!r} is not a time of day"))
                continue
            parsed.append(TimeRange(h1 * 60 + m1, h2 * 60 + m2))
        out[day] = tuple(parsed)
    return out


def _booking(r: _Reader) -> BookingSettings:
    default = BookingSettings()
    weights = dict(default.wait_per_day)
    for key, value in r.get("wait_per_day", dict, {}).items():
        if key not in weights:
            known = ", ".join(weights)
            r.problems.append(Problem(f"{r.path}.wait_per_day.{key}", f"unknown priority (one of {known})"))
        elif not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            r.problems.append(Problem(f"{r.path}.wait_per_day.{key}", "expected a number ≥ 0"))
        else:
            weights[key] = float(value)
    settings = BookingSettings(
        wait_per_day=weights,
        travel_per_minute=r.get("travel_per_minute", float, default.travel_per_minute),
        late_per_day=r.get("late_per_day", float, default.late_per_day),
        horizon_days=r.get("horizon_days", int, default.horizon_days),
        slot_step_min=r.get("slot_step_min", int, default.slot_step_min),
    )
    if settings.travel_per_minute < 0 or settings.late_per_day < 0:
        r.problems.append(Problem(r.path, "weights must be ≥ 0"))
    if not 1 <= settings.horizon_days <= 366:
        r.problems.append(Problem(f"{r.path}.horizon_days", "between 1 and 366 days"))
    if not 1 <= settings.slot_step_min <= 60:
        r.problems.append(Problem(f"{r.path}.slot_step_min", "between 1 and 60 minutes"))
    return settings


def reading_document(s: ReadingSettings) -> dict[str, Any]:
    """Reading settings as the file (and the database) write them: delays in hours or minutes."""
    hours = timedelta(hours=1)
    return {
        "mode": s.mode.value,
        "due_hours": {"urgent": s.urgent_due / hours, "inpatient": s.inpatient_due / hours,
                      "outpatient": s.outpatient_due / hours, "screening_first": s.screening_first_due / hours,
                      "screening_second": s.screening_second_due / hours},
        "claim_lapse_minutes": s.claim_lapse / timedelta(minutes=1),
        "escalation_share": s.escalation_share,
        "l1_yearly_minimum": s.l1_yearly_minimum,
        "l2_yearly_minimum": s.l2_yearly_minimum,
        "reading_minutes": dict(s.reading_minutes),
    }


def reading_settings(problems: list[Problem], path: str, table: Mapping[str, Any]) -> ReadingSettings:
    """``[territory.reading]``: every key optional, defaults from :class:`ReadingSettings`."""
    r = _Reader(problems, path, table, {"mode", "due_hours", "claim_lapse_minutes", "escalation_share",
                                        "l1_yearly_minimum", "l2_yearly_minimum", "reading_minutes"})
    d = ReadingSettings()
    due = _Reader(problems, f"{path}.due_hours", r.get("due_hours", dict, {}),
                  {"urgent", "inpatient", "outpatient", "screening_first", "screening_second"})

    def hours(key: str, default: timedelta) -> timedelta:
        return timedelta(hours=due.get(key, float, default / timedelta(hours=1)))

    minutes = dict(d.reading_minutes)
    for key, value in r.get("reading_minutes", dict, {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(Problem(f"{path}.reading_minutes.{key}", "expected a number of minutes"))
        else:
            minutes[key] = float(value)
    settings = ReadingSettings(
        mode=r.enum("mode", ReadingMode, d.mode) or d.mode,
        urgent_due=hours("urgent", d.urgent_due), inpatient_due=hours("inpatient", d.inpatient_due),
        outpatient_due=hours("outpatient", d.outpatient_due),
        screening_first_due=hours("screening_first", d.screening_first_due),
        screening_second_due=hours("screening_second", d.screening_second_due),
        claim_lapse=timedelta(minutes=r.get("claim_lapse_minutes", float, d.claim_lapse / timedelta(minutes=1))),
        escalation_share=r.get("escalation_share", float, d.escalation_share),
        l1_yearly_minimum=r.get("l1_yearly_minimum", int, d.l1_yearly_minimum),
        l2_yearly_minimum=r.get("l2_yearly_minimum", int, d.l2_yearly_minimum),
        reading_minutes=minutes,
    )
    names = {"urgent_due": "due_hours.urgent", "inpatient_due": "due_hours.inpatient",
             "outpatient_due": "due_hours.outpatient", "screening_first_due": "due_hours.screening_first",
             "screening_second_due": "due_hours.screening_second", "claim_lapse": "claim_lapse_minutes"}
    problems += [Problem(f"{path}.{names.get(x.location, x.location)}", x.reason) for x in settings_problems(settings)]
    return settings


def _closure(problems: list[Problem], path: str, table: Any) -> Closure | None:
    r = _Reader(problems, path, table, {"start", "end", "reason"})
    start, end = r.get("start", (date, datetime)), r.get("end", (date, datetime))
    reason = r.text("reason", "")
    if start is None or end is None:
        return None
    start_dt = start if isinstance(start, datetime) else datetime.combine(start, time())
    # a closure given in days includes its last day
    end_dt = end if isinstance(end, datetime) else datetime.combine(end, time()) + timedelta(days=1)
    return Closure(start_dt, end_dt, reason)


def _sections(
    problems: list[Problem], doc: Mapping[str, Any], key: str, build: Callable[[str, Any], Any]
) -> tuple[Any, ...]:
    top = _Reader(problems, "", doc, set(doc))
    return tuple(x for path, table in top.tables(key) if (x := build(path, table)) is not None)


def parse_territory_document(
    doc: Mapping[str, Any], communes: Mapping[str, Commune]
) -> tuple[Territory | None, list[Problem]]:
    """Build the territory a parsed file describes, with every problem found."""
    p: list[Problem] = []
    _Reader(p, "", doc, {"territory", "establishments", "sites", "equipment", "practitioners", "conventions", "exams"})
    head = _Reader(p, "territory", doc.get("territory", {}), {"id", "name", "timezone", "travel", "booking", "reading"})
    travel_r = _Reader(p, "territory.travel", head.get("travel", dict, {}), {"detour_factor", "road_speed_kmh"})
    travel = TravelSettings(travel_r.get("detour_factor", float, 1.3), travel_r.get("road_speed_kmh", float, 60.0))
    if travel.detour_factor < 1 or travel.road_speed_kmh <= 0:
        p.append(Problem("territory.travel", "detour_factor must be ≥ 1 and road_speed_kmh > 0"))
    booking = _booking(
        _Reader(
            p,
            "territory.booking",
            head.get("booking", dict, {}),
            {"wait_per_day", "travel_per_minute", "late_per_day", "horizon_days", "slot_step_min"},
        )
    )

    def establishment(path: str, t: Any) -> Establishment:
        r = _Reader(p, path, t, {"finess", "name", "kind"})
        return Establishment(r.text("finess"), r.text("name"), r.text("kind"))

    def site(path: str, t: Any) -> Site:
        r = _Reader(p, path, t, {"id", "establishment", "name", "insee", "pacs_url"})
        return Site(
            r.slug("id"), r.text("establishment"), r.text("name"), r.text("insee"), r.get("pacs_url", str, None)
        )

    def equipment(path: str, t: Any) -> Equipment:
        r = _Reader(
            p,
            path,
            t,
            {
                "id",
                "site",
                "name",
                "kind",
                "modality",
                "ae_title",
                "station_name",
                "opening_hours",
                "closures",
                "exams",
            },
        )
        return Equipment(
            id=r.slug("id"),
            site=r.text("site"),
            name=r.text("name"),
            kind=r.enum("kind", EquipmentKind, "imaging") or EquipmentKind.IMAGING,
            modality=r.enum("modality", Modality, None),
            ae_title=r.get("ae_title", str, None),
            station_name=r.get("station_name", str, None),
            opening_hours=_hours(r),
            closures=tuple(c for cp, ct in r.tables("closures") if (c := _closure(p, cp, ct))),
            exams=r.strings("exams"),
        )

    def practitioner(path: str, t: Any) -> Practitioner:
        r = _Reader(
            p,
            path,
            t,
            {"rpps", "last_name", "first_name", "profession", "establishment", "qualifications", "subspecialties"},
        )
        return Practitioner(
            r.text("rpps"),
            r.text("last_name"),
            r.text("first_name"),
            r.enum("profession", Profession),
            r.text("establishment"),
            r.strings("qualifications"),
            r.strings("subspecialties"),
        )

    def privilege(path: str, t: Any) -> Privilege:
        r = _Reader(p, path, t, {"rpps", "sites", "platforms", "start", "end"})
        return Privilege(
            r.text("rpps"), r.strings("sites"), r.enums("platforms", Platform), r.day("start", None), r.day("end", None)
        )

    def convention(path: str, t: Any) -> Convention:
        r = _Reader(
            p,
            path,
            t,
            {
                "id",
                "kind",
                "name",
                "members",
                "start",
                "end",
                "coordinator",
                "remote_reading",
                "contribution_keys",
                "privileges",
            },
        )
        keys = r.get("contribution_keys", dict, {})
        shares = {k: float(v) for k, v in keys.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        for k in set(keys) - set(shares):
            p.append(Problem(f"{path}.contribution_keys.{k}", "expected a number (a share between 0 and 1)"))
        privileges = tuple(privilege(pp, pt) for pp, pt in r.tables("privileges"))
        return Convention(
            r.slug("id"),
            r.enum("kind", ConventionKind),
            r.text("name"),
            r.strings("members"),
            r.day("start"),
            r.day("end"),
            r.get("coordinator", str, None),
            r.enums("remote_reading", Modality),
            shares,
            privileges,
        )

    def exam(path: str, t: Any) -> Exam:
        r = _Reader(
            p,
            path,
            t,
            {"code", "label", "kind", "modality", "duration_min", "ccam", "radiologist_on_site", "preparation",
             "report"},
        )
        report = _Reader(p, f"{path}.report", r.get("report", dict, {}), set(REPORT_SECTIONS))
        template = tuple((k, v) for k in REPORT_SECTIONS if isinstance(v := report.get(k, str, ""), str) and v)
        return Exam(
            r.text("code"),
            r.text("label"),
            r.get("duration_min", int) or 0,
            r.enum("kind", EquipmentKind, "imaging") or EquipmentKind.IMAGING,
            r.enum("modality", Modality, None),
            r.get("ccam", str, None),
            r.get("radiologist_on_site", bool, False),
            r.get("preparation", str, ""),
            template,
        )

    territory = Territory(
        id=head.slug("id"),
        name=head.text("name"),
        timezone=head.text("timezone", "Europe/Paris"),
        travel=travel,
        booking=booking,
        reading=reading_settings(p, "territory.reading", head.get("reading", dict, {})),
        establishments=_sections(p, doc, "establishments", establishment),
        sites=_sections(p, doc, "sites", site),
        equipment=_sections(p, doc, "equipment", equipment),
        practitioners=_sections(p, doc, "practitioners", practitioner),
        conventions=_sections(p, doc, "conventions", convention),
        exams=_sections(p, doc, "exams", exam),
    )
    try:
        rules = territory_problems(territory, communes)
    except (TypeError, AttributeError):  # a half-read value (already reported) tripped a rule
        rules = []
    if p:  # a rule problem at a place already reported as malformed would only add noise
        rules = [r for r in rules if not any(r.location.startswith(s.location) for s in p)]
    problems = p + rules
    return (None, problems) if problems else (territory, [])


def parse_territory(source: str, text: str, communes: Mapping[str, Commune]) -> Territory:
    """Parse a territory file's text; raise :class:`TerritoryFileError` listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TerritoryFileError(source, [Problem("(syntax)", str(exc))]) from exc
    territory, problems = parse_territory_document(doc, communes)
    if territory is None:
        raise TerritoryFileError(source, problems)
    return territory


def read_territory_file(path: Path, communes: Mapping[str, Commune]) -> Territory:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TerritoryFileError(str(path), [Problem("(file)", f"cannot read: {exc}")]) from exc
    return parse_territory(str(path), text, communes)


def _hours_doc(hours: Mapping[str, tuple[TimeRange, ...]]) -> dict[str, list[str]]:
    return {day: [str(r) for r in ranges] for day, ranges in hours.items()}


def territory_document(t: Territory, communes: Mapping[str, Commune]) -> dict[str, Any]:
    """The territory in the file's own shape and names, with sites' commune and position added."""

    def site(s: Site) -> dict[str, Any]:
        c = communes.get(s.insee)
        return {
            "id": s.id,
            "establishment": s.establishment,
            "name": s.name,
            "insee": s.insee,
            "commune": c.name if c else None,
            "lat": c.lat if c else None,
            "lon": c.lon if c else None,
            "pacs_url": s.pacs_url,
        }

    return {
        "territory": {
            "id": t.id,
            "name": t.name,
            "timezone": t.timezone,
            "travel": {"detour_factor": t.travel.detour_factor, "road_speed_kmh": t.travel.road_speed_kmh},
            "booking": asdict(t.booking),
            "reading": reading_document(t.reading),
        },
        "establishments": [{"finess": e.finess, "name": e.name, "kind": e.kind} for e in t.establishments],
        "sites": [site(s) for s in t.sites],
        "equipment": [equipment_document(e) for e in t.equipment],
        "practitioners": [practitioner_document(x) for x in t.practitioners],
        "conventions": [
            {
                "id": c.id,
                "kind": c.kind.value,
                "name": c.name,
                "members": list(c.members),
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
                "coordinator": c.coordinator,
                "remote_reading": [m.value for m in c.remote_reading],
                "contribution_keys": dict(c.contribution_keys),
                "privileges": [
                    {
                        "rpps": v.rpps,
                        "sites": list(v.sites),
                        "platforms": [x.value for x in v.platforms],
                        "start": v.start.isoformat() if v.start else None,
                        "end": v.end.isoformat() if v.end else None,
                    }
                    for v in c.privileges
                ],
            }
            for c in t.conventions
        ],
        "exams": [
            {
                "code": x.code,
                "label": x.label,
                "kind": x.kind.value,
                "modality": x.modality.value if x.modality else None,
                "duration_min": x.duration_min,
                "ccam": x.ccam,
                "radiologist_on_site": x.radiologist_on_site,
                "preparation": x.preparation,
                "report": dict(x.report_template),
            }
            for x in t.exams
        ],
    }


def equipment_document(e: Equipment) -> dict[str, Any]:
    return {
        "id": e.id,
        "site": e.site,
        "name": e.name,
        "kind": e.kind.value,
        "modality": e.modality.value if e.modality else None,
        "ae_title": e.ae_title,
        "station_name": e.station_name,
        "opening_hours": _hours_doc(e.opening_hours),
        "closures": [{"start": c.start.isoformat(), "end": c.end.isoformat(), "reason": c.reason} for c in e.closures],
        "exams": list(e.exams),
    }


def practitioner_document(x: Practitioner) -> dict[str, Any]:
    return {
        "rpps": x.rpps,
        "last_name": x.last_name,
        "first_name": x.first_name,
        "profession": x.profession.value,
        "establishment": x.establishment,
        "qualifications": list(x.qualifications),
        "subspecialties": list(x.subspecialties),
    }
