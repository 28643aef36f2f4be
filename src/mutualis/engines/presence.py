"""A default presence table, until rosters exist (the roster issue replaces it).

Each weekday, every radiographer is present at their home establishment's first site with
imaging equipment, from the earliest opening to the latest closing of that site's machines;
every radiologist is present 08:00–18:30 at a site of their privileges, rotating over those
sites day by day (home first). Weekends: one radiographer per site with open machines
(the first by RPPS) and one radiologist (the first by RPPS whose home it is).
This is a placeholder with documented assumptions, not a roster.
"""

from __future__ import annotations

from datetime import date, timedelta

from mutualis.domain.territory import WEEKDAYS, EquipmentKind, Profession, Territory
from mutualis.engines.slots import RADIOGRAPHER, RADIOLOGIST, Shift

RADIOLOGIST_DAY = (8 * 60, 18 * 60 + 30)


def _site_hours(t: Territory, site: str, day: date) -> tuple[int, int] | None:
    ranges = [
        r
        for e in t.equipment
        if e.site == site and e.kind is EquipmentKind.IMAGING
        for r in e.opening_hours.get(WEEKDAYS[day.weekday()], ())
    ]
    return (min(r.start for r in ranges), max(r.end for r in ranges)) if ranges else None


def default_presence(t: Territory, start: date, days: int) -> list[Shift]:
    imaging_sites = [
        s.id for s in t.sites if any(e.site == s.id and e.kind is EquipmentKind.IMAGING for e in t.equipment)
    ]
    privileged: dict[str, list[str]] = {}
    for c in t.conventions:
        for pv in c.privileges:
            privileged.setdefault(pv.rpps, []).extend(s for s in pv.sites if s in imaging_sites)
    shifts: list[Shift] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        weekend = day.weekday() >= 5
        covered: set[str] = set()  # weekends: sites that already have their radiographer
        read_by: set[str] = set()  # weekends: sites that already have their radiologist
        for p in sorted(t.practitioners, key=lambda p: p.rpps):
            home = [s.id for s in t.sites if s.establishment == p.establishment and s.id in imaging_sites]
            if p.profession is Profession.RADIOGRAPHER:
                sites = home or privileged.get(p.rpps, [])
                if not sites or (weekend and sites[0] in covered):
                    continue
                hours = _site_hours(t, sites[0], day)
                if hours:
                    shifts.append(Shift(sites[0], day, RADIOGRAPHER, *hours, rpps=p.rpps))
                    covered.add(sites[0])
            elif p.profession is Profession.RADIOLOGIST:
                rota = list(dict.fromkeys(home + privileged.get(p.rpps, [])))
                if not rota:
                    continue
                site = rota[0] if weekend else rota[offset % len(rota)]
                hours = _site_hours(t, site, day)
                if hours and not weekend:
                    shifts.append(Shift(site, day, RADIOLOGIST, *RADIOLOGIST_DAY, rpps=p.rpps))
                elif hours and site not in read_by:
                    shifts.append(Shift(site, day, RADIOLOGIST, *hours, rpps=p.rpps))
                    read_by.add(site)
    return shifts
