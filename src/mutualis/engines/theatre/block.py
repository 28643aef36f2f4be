"""The block schedule: a territory's theatres become sessions, given to the federation's surgeons.

**Sessions** (:func:`sessions_from_territory`): every equipment of kind ``theatre`` gives one
session per opening range per day of the horizon; closures are cut out (what is left of a
range, if at least ``MIN_SESSION_MIN`` minutes, is still a session). A session carries:

- the procedures its theatre is restricted to (the equipment's ``exams``; empty: any);
- its equipment (assumption, the territory file does not list theatre equipment): every
  theatre has a laparoscopy column (``coelioscopie``); the theatres of a CHU also have
  intra-operative ultrasound (``echographie-peroperatoire``) and an intensive care unit behind
  them (``reanimation``), which heavy surgery needs; ``equipment`` overrides it per theatre;
- its anaesthesia: general and local when an anaesthetist may work at the site (their own
  establishment, or a privilege in force on the theatre platform), regional too when one of
  them holds the ``ALR`` qualification (loco-regional anaesthesia); only local when none may.

**Allocation** (the default block schedule, an assumption to replace by the federation's
own): the theatres in ``open_theatres`` give open sessions (default: at every site with at
least three theatres, the last one by id — at the CHU of the Vienne FMIH, room 4, kept for
urgent and cancer cases of any federation surgeon). Every other session goes to one surgeon,
day by day, site by site, from the earliest start: to the surgeon privileged at the site
(:func:`privileges_from_territory`) and free of a conflicting session that day (overlapping
hours, or the other site less than ``site_travel_min`` away) whose minutes already given at
that site plus half the session's, divided by their weight there, are the least (the
Sainte-Laguë rule) — weight 1 at a site of their own
establishment, ``visiting_weight`` (0.25) at the other members' sites, so a surgeon privileged
at both sites of the federation gets about one session a week away from home; ties by a
rotation that moves on each day. A session no surgeon can take stays open. The allocation is
deterministic and never gives a surgeon a session where they hold no privilege.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta

from mutualis.domain.territory import WEEKDAYS, EquipmentKind, Platform, Profession, Territory
from mutualis.engines.theatre import rule_surgeon
from mutualis.engines.theatre.instance import Session

MIN_SESSION_MIN = 60
DEFAULT_TRAVEL_MIN = 60
BASE_EQUIPMENT = frozenset({"coelioscopie"})
CHU_EQUIPMENT = frozenset({"coelioscopie", "echographie-peroperatoire", "reanimation"})


def privileges_from_territory(t: Territory, on: date, *, platform: Platform = Platform.THEATRE,
                              home: bool = True) -> dict[str, frozenset[str]]:  # fmt: skip
    """RPPS → the sites where the practitioner may work on ``platform`` on day ``on``: the sites
    of privileges in force (under a convention in force) that open that platform, and, when
    ``home``, the sites of their own establishment (no convention is needed to operate at home).
    Read like :func:`mutualis.domain.accounts.visible_sites` reads privileges."""
    out: dict[str, set[str]] = defaultdict(set)
    if home:
        for p in t.practitioners:
            out[p.rpps] |= {s.id for s in t.sites if s.establishment == p.establishment}
    for c in t.conventions_in_force(on):
        for pv in c.privileges:
            if pv.in_force(on) and platform in pv.platforms:
                out[pv.rpps] |= set(pv.sites)
    return {rpps: frozenset(sites) for rpps, sites in out.items()}


def federation_surgeons(t: Territory, privileges: Mapping[str, frozenset[str]]) -> list[str]:
    """RPPS of the territory's surgeons who may operate somewhere, in the territory's order."""
    return [p.rpps for p in t.practitioners if p.profession is Profession.SURGEON and privileges.get(p.rpps)]


def default_open_theatres(t: Territory) -> frozenset[str]:
    theatres: dict[str, list[str]] = defaultdict(list)
    for e in t.equipment:
        if e.kind is EquipmentKind.THEATRE:
            theatres[e.site].append(e.id)
    return frozenset(max(ids) for ids in theatres.values() if len(ids) >= 3)


def default_equipment(t: Territory) -> dict[str, frozenset[str]]:
    chu = {e.finess for e in t.establishments if e.kind.upper() == "CHU"}
    return {e.id: CHU_EQUIPMENT if t.establishment_of(e.site) in chu else BASE_EQUIPMENT
            for e in t.equipment if e.kind is EquipmentKind.THEATRE}  # fmt: skip


def anaesthesia_by_site(t: Territory, privileges: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    anaesthetists = [p for p in t.practitioners if p.profession is Profession.ANAESTHETIST]
    for s in t.sites:
        here = [p for p in anaesthetists if s.id in privileges.get(p.rpps, frozenset())]
        kinds = {"local"}
        if here:
            kinds.add("general")
        if any("ALR" in p.qualifications for p in here):
            kinds.add("regional")
        out[s.id] = frozenset(kinds)
    return out


def _pieces(day: date, start: int, end: int, closures: Collection[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
    """What is left of [start, end) on ``day`` once the closures are cut out."""
    midnight = datetime.combine(day, datetime.min.time())
    pieces = [(start, end)]
    for a, b in closures:
        ca = max(-1, int((a - midnight).total_seconds() // 60))
        cb = min(1441, -int(-(b - midnight).total_seconds() // 60))
        cut = []
        for s, e in pieces:
            if cb <= s or e <= ca:
                cut.append((s, e))
                continue
            if s < ca:
                cut.append((s, ca))
            if cb < e:
                cut.append((cb, e))
        pieces = cut
    return [(s, e) for s, e in pieces if e - s >= MIN_SESSION_MIN]


def sessions_from_territory(t: Territory, start: date, days: int, *,
                            privileges: Mapping[str, frozenset[str]] | None = None,
                            open_theatres: Collection[str] | None = None,
                            equipment: Mapping[str, frozenset[str]] | None = None,
                            visiting_weight: float = 0.25,
                            site_travel_min: int = DEFAULT_TRAVEL_MIN) -> tuple[Session, ...]:  # fmt: skip
    """The sessions of ``t``'s theatres over ``days`` days from ``start``, with the default
    block allocation (see the module's docstring). ``privileges``: default
    :func:`privileges_from_territory` on ``start``."""
    privs = privileges if privileges is not None else privileges_from_territory(t, start)
    opened = frozenset(open_theatres) if open_theatres is not None else default_open_theatres(t)
    kit = {**default_equipment(t), **(equipment or {})}
    anaesthesia = anaesthesia_by_site(t, privs)
    names = {p.rpps: f"Dr {p.first_name} {p.last_name}" for p in t.practitioners}
    home = {p.rpps: {s.id for s in t.sites if s.establishment == p.establishment} for p in t.practitioners}
    surgeons = federation_surgeons(t, privs)
    given: dict[tuple[str, str], int] = defaultdict(int)  # (surgeon, site) → minutes given

    def weight(rpps: str, site: str) -> float:
        return 1.0 if site in home.get(rpps, set()) else visiting_weight

    out: list[Session] = []
    for n in range(days):
        day = start + timedelta(days=n)
        weekday = WEEKDAYS[day.weekday()]
        raw: list[tuple[str, str, int, int]] = []  # site, theatre, start, end
        for e in t.equipment:
            if e.kind is not EquipmentKind.THEATRE:
                continue
            closures = [(c.start, c.end) for c in e.closures]
            for r in e.opening_hours.get(weekday, ()):
                raw += [(e.site, e.id, a, b) for a, b in _pieces(day, r.start, r.end, closures)]
        raw.sort(key=lambda x: (x[0], x[2], x[1]))
        today: dict[str, list[tuple[str, int, int]]] = defaultdict(list)  # surgeon → (site, start, end)
        rotation = {r: (j - n) % max(1, len(surgeons)) for j, r in enumerate(surgeons)}
        for site, theatre, a, b in raw:
            owner: str | None = None
            if theatre not in opened:
                free = [r for r in surgeons if site in privs.get(r, frozenset()) and weight(r, site) > 0 and not any(
                    rule_surgeon.clash(site_travel_min, site, a, b, s2, a2, b2) for s2, a2, b2 in today[r])]
                if free:  # Sainte-Laguë: the least (minutes given + half this session) ÷ weight
                    owner = min(free, key=lambda r: ((given[r, site] + (b - a) / 2) / weight(r, site), rotation[r]))
                    given[owner, site] += b - a
                    today[owner].append((site, a, b))
            e = next(x for x in t.equipment if x.id == theatre)
            out.append(Session(
                id=f"{theatre}#{day.isoformat()}#{a // 60:02d}{a % 60:02d}", theatre=theatre, site=site, day=day,
                start_min=a, end_min=b, surgeons=frozenset({owner}) if owner else frozenset(),
                team=names.get(owner, owner) if owner else "open", equipment=kit.get(theatre, frozenset()),
                anaesthesia=anaesthesia.get(site, frozenset({"local"})), procedures=frozenset(e.exams),
            ))  # fmt: skip
    return tuple(out)
