"""The federation's pages in French: words for statuses and reasons, the two-site theatre week
as a calendar grid, the referrals board as columns by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mutualis.domain.federation import CLOSED, Referral, ReferralStatus
from mutualis.domain.territory import EquipmentKind
from mutualis.services.booking import to_local
from mutualis.services.federation import Overview

STATUS_FR = {"sent": "Envoyé", "accepted": "Accepté", "redirected": "Réorienté", "consultation": "Consultation",
             "surgery": "Chirurgie programmée", "returned": "Retour à l'équipe"}  # fmt: skip
NEXT_FR = {"accepted": "Accepter", "redirected": "Réorienter", "consultation": "Consultation faite",
           "surgery": "Chirurgie", "returned": "Retour à l'équipe adressante"}  # fmt: skip
REASON_FR = {"heavy_surgery": "chirurgie lourde", "digestive_oncology": "oncologie digestive", "other": "autre"}
URGENCY_FR = {"urgent": "urgent", "soon": "rapide", "routine": "programmé"}
PRIORITY_FR = {"urgent": "urgent", "cancer": "cancer", "standard": "standard"}
COLUMNS = (ReferralStatus.SENT, ReferralStatus.ACCEPTED, ReferralStatus.CONSULTATION, ReferralStatus.SURGERY)
DAYS_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


def due_fr(r: Referral, now: datetime) -> str:
    if r.status in CLOSED or r.due_at is None:
        return ""
    left = r.due_at - now
    hours = int(abs(left.total_seconds()) // 3600)
    span = f"{hours // 24} j" if hours >= 48 else f"{hours} h"
    return f"en retard de {span}" if left.total_seconds() < 0 else f"échéance dans {span}"


@dataclass
class Block:
    start: str
    end: str
    text: str
    surgeon: str
    patient: str
    flag: bool  # cancer without a tumour-board decision
    case_id: int


@dataclass
class Room:
    id: str
    name: str
    site: str
    days: list[list[Block]] = field(default_factory=list)
    sessions: list[list[str]] = field(default_factory=list)  # per day: "08:00–18:30 · Dr Girard" (block schedule)


def week_grid(o: Overview, days: int = 5) -> tuple[list[tuple[date, str]], list[Room]]:
    t = o.territory
    names = {p.rpps: f"Dr {p.last_name}" for p in t.practitioners}
    exams = {x.code: x.label for x in t.exams}
    sites = {s.id: s.name for s in t.sites}
    dates = [o.week.start + timedelta(days=n) for n in range(days)]
    rooms = [Room(e.id, e.name.split("—")[-1].strip(), sites.get(e.site, e.site), [[] for _ in dates],
                  [[] for _ in dates]) for e in t.equipment if e.kind is EquipmentKind.THEATRE]  # fmt: skip
    index = {r.id: r for r in rooms}
    for s in o.week.sessions:
        n = (s.day - o.week.start).days
        if s.theatre in index and 0 <= n < days:
            who = "vacation ouverte" if s.is_open else s.team
            index[s.theatre].sessions[n].append(f"{s.start_min // 60:02d}:{s.start_min % 60:02d}–"
                                                f"{s.end_min // 60:02d}:{s.end_min % 60:02d} · {who}")
    for b, c, flag in o.week.bookings:
        start, end = to_local(b.start, t), to_local(b.end, t)
        n = (start.date() - o.week.start).days
        if b.theatre in index and 0 <= n < days:
            index[b.theatre].days[n].append(Block(f"{start:%H:%M}", f"{end:%H:%M}", exams.get(c.procedure, c.procedure),
                                                  names.get(c.surgeon, c.surgeon), o.names.get(c.patient_id, ""),
                                                  flag, c.id or 0))  # fmt: skip
    return [(d, f"{DAYS_FR[d.weekday()]} {d:%d/%m}") for d in dates], rooms


def board_columns(o: Overview) -> list[tuple[str, str, list[Referral]]]:
    cols = [(s.value, STATUS_FR[s.value], [r for r in o.referrals if r.status is s]) for s in COLUMNS]
    cols.append(("closed", "Terminés", [r for r in o.referrals if r.status in CLOSED]))
    return cols
