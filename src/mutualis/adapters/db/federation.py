"""The federation's storage: referrals and their history, surgical cases and theatre bookings,
tumour boards and their cases. Times are UTC-aware in and out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mutualis.adapters.db import tables as T
from mutualis.adapters.db.booking import utc
from mutualis.domain.federation import (
    Attendee,
    BoardCase,
    CaseStatus,
    Referral,
    ReferralEvent,
    ReferralReason,
    ReferralStatus,
    SurgicalCase,
    TheatreBooking,
    TumourBoard,
    Urgency,
)


def _opt(v: datetime | None) -> datetime | None:
    return None if v is None else utc(v)


def _case(r: Any) -> SurgicalCase:
    return SurgicalCase(r["territory_id"], r["patient_id"], r["procedure"], r["surgeon_rpps"], r["priority"],
                        r["cancer"], r["expected_min"], r["ready_on"], r["due_by"], r["anaesthesia"],
                        r["referral_id"], CaseStatus(r["status"]), r["id"], tuple(r["equipment"]))  # fmt: skip


def _board_case(r: Any) -> BoardCase:
    return BoardCase(r["board_id"], r["patient_id"], r["question"], r["standard"], r["referral_id"],
                     tuple(Attendee(a["rpps"], a["specialty"]) for a in r["attendees"]), r["decision"],
                     _opt(r["decided_at"]), _opt(r["sent_at"]), r["id"])  # fmt: skip


class FederationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # referrals
    def add_referral(self, r: Referral, now: datetime) -> int:
        rid: int = self.conn.execute(insert(T.referrals).values(
            territory_id=r.territory, patient_id=r.patient_id, from_site=r.from_site, to_site=r.to_site,
            referring_rpps=r.referring_rpps, reason=r.reason.value, urgency=r.urgency.value, summary=r.summary,
            documents=list(r.documents), status=r.status.value, due_at=r.due_at, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return rid

    def add_event(self, referral_id: int, e: ReferralEvent) -> None:
        self.conn.execute(insert(T.referral_events).values(referral_id=referral_id, status=e.status.value,
                                                           actor=e.actor, note=e.note, at=e.at))  # fmt: skip

    def set_referral(self, referral_id: int, status: ReferralStatus, due_at: datetime, now: datetime) -> None:
        self.conn.execute(update(T.referrals).where(T.referrals.c.id == referral_id)
                          .values(status=status.value, due_at=due_at, updated_at=now))  # fmt: skip

    def referral(self, referral_id: int, *, for_update: bool = False) -> Referral | None:
        q = select(T.referrals).where(T.referrals.c.id == referral_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).mappings().first()
        if row is None:
            return None
        ev = T.referral_events
        events = tuple(ReferralEvent(ReferralStatus(e["status"]), e["actor"], utc(e["at"]), e["note"])
                       for e in self.conn.execute(select(ev).where(ev.c.referral_id == referral_id)
                                                  .order_by(ev.c.at, ev.c.id)).mappings())  # fmt: skip
        return self._referral(row, events)

    @staticmethod
    def _referral(row: Any, events: tuple[ReferralEvent, ...] = ()) -> Referral:
        return Referral(row["territory_id"], row["patient_id"], row["from_site"], row["to_site"],
                        row["referring_rpps"], ReferralReason(row["reason"]), Urgency(row["urgency"]),
                        row["summary"], tuple(row["documents"]), ReferralStatus(row["status"]), utc(row["due_at"]),
                        utc(row["created_at"]), row["id"], events)  # fmt: skip

    def referrals(self, territory: str, sites: Sequence[str]) -> list[Referral]:
        r = T.referrals
        q = (select(r).where(r.c.territory_id == territory, (r.c.from_site.in_(list(sites)))
                             | (r.c.to_site.in_(list(sites)))).order_by(r.c.due_at))  # fmt: skip
        return [self._referral(row) for row in self.conn.execute(q).mappings()]

    # surgical cases and theatre bookings
    def add_case(self, c: SurgicalCase, now: datetime) -> int:
        cid: int = self.conn.execute(insert(T.surgical_cases).values(
            territory_id=c.territory, patient_id=c.patient_id, referral_id=c.referral_id, procedure=c.procedure,
            surgeon_rpps=c.surgeon, priority=c.priority, cancer=c.cancer, anaesthesia=c.anaesthesia,
            equipment=list(c.equipment),
            expected_min=c.expected_min, ready_on=c.ready_on, due_by=c.due_by, status=c.status.value,
            created_at=now, updated_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return cid

    def case(self, case_id: int, *, for_update: bool = False) -> SurgicalCase | None:
        q = select(T.surgical_cases).where(T.surgical_cases.c.id == case_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).mappings().first()
        return None if row is None else _case(row)

    def cases(self, territory: str, statuses: Sequence[str] | None = None) -> list[SurgicalCase]:
        c = T.surgical_cases
        q = select(c).where(c.c.territory_id == territory)
        if statuses:
            q = q.where(c.c.status.in_(list(statuses)))
        return [_case(r) for r in self.conn.execute(q.order_by(c.c.due_by, c.c.id)).mappings()]

    def set_case_status(self, case_id: int, status: CaseStatus, now: datetime) -> None:
        self.conn.execute(update(T.surgical_cases).where(T.surgical_cases.c.id == case_id)
                          .values(status=status.value, updated_at=now))  # fmt: skip

    def add_booking(self, territory: str, b: TheatreBooking, by: str, now: datetime) -> int:
        e = T.equipment
        eq = self.conn.execute(select(e.c.id).where(e.c.territory_id == territory, e.c.code == b.theatre)).scalar_one()
        bid: int = self.conn.execute(insert(T.theatre_bookings).values(
            case_id=b.case_id, equipment_id=eq, start_at=utc(b.start), end_at=utc(b.end), active=True, created_by=by,
            created_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return bid

    def bookings(self, territory: str, start: datetime, end: datetime) -> list[tuple[TheatreBooking, SurgicalCase]]:
        """Live theatre bookings overlapping [start, end), with their cases."""
        b, e, c = T.theatre_bookings, T.equipment, T.surgical_cases
        q = (select(b.c.id.label("booking_id"), b.c.start_at, b.c.end_at, e.c.code, c)
             .join(e, e.c.id == b.c.equipment_id).join(c, c.c.id == b.c.case_id)
             .where(e.c.territory_id == territory, b.c.active, b.c.start_at < utc(end), b.c.end_at > utc(start))
             .order_by(b.c.start_at))  # fmt: skip
        return [(TheatreBooking(r["id"], r["code"], utc(r["start_at"]), utc(r["end_at"]), r["booking_id"]), _case(r))
                for r in self.conn.execute(q).mappings()]  # fmt: skip

    def booking_of(self, case_id: int) -> TheatreBooking | None:
        b, e = T.theatre_bookings, T.equipment
        row = self.conn.execute(select(b, e.c.code).join(e, e.c.id == b.c.equipment_id)
                                .where(b.c.case_id == case_id, b.c.active)).mappings().first()  # fmt: skip
        return None if row is None else TheatreBooking(case_id, row["code"], utc(row["start_at"]),
                                                       utc(row["end_at"]), row["id"])  # fmt: skip

    # tumour boards
    def add_board(self, b: TumourBoard, now: datetime) -> int:
        bid: int = self.conn.execute(insert(T.tumour_boards).values(
            territory_id=b.territory, title=b.title, site=b.site, day=b.day, specialties=list(b.specialties),
            created_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return bid

    def boards(self, territory: str, first: date, last: date) -> list[TumourBoard]:
        tb, bc = T.tumour_boards, T.board_cases
        q = select(tb).where(tb.c.territory_id == territory, tb.c.day >= first, tb.c.day <= last)
        rows = self.conn.execute(q.order_by(tb.c.day, tb.c.id)).mappings().all()
        out = []
        for r in rows:
            cases = tuple(_board_case(x) for x in self.conn.execute(
                select(bc).where(bc.c.board_id == r["id"]).order_by(bc.c.id)).mappings())  # fmt: skip
            out.append(TumourBoard(r["territory_id"], r["title"], r["site"], r["day"], tuple(r["specialties"]),
                                   r["id"], cases))  # fmt: skip
        return out

    def board_territory(self, board_id: int) -> str | None:
        return self.conn.execute(select(T.tumour_boards.c.territory_id)
                                 .where(T.tumour_boards.c.id == board_id)).scalar()  # fmt: skip

    def add_board_case(self, c: BoardCase, now: datetime) -> int:
        cid: int = self.conn.execute(insert(T.board_cases).values(
            board_id=c.board_id, patient_id=c.patient_id, referral_id=c.referral_id, question=c.question,
            standard=c.standard, attendees=[], created_at=now)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        return cid

    def board_case(self, case_id: int) -> BoardCase | None:
        row = self.conn.execute(select(T.board_cases).where(T.board_cases.c.id == case_id)).mappings().first()
        return None if row is None else _board_case(row)

    def decide(self, case_id: int, attendees: Sequence[Attendee], decision: str, by: str, now: datetime) -> None:
        self.conn.execute(update(T.board_cases).where(T.board_cases.c.id == case_id).values(
            attendees=[{"rpps": a.rpps, "specialty": a.specialty} for a in attendees], decision=decision,
            decided_by=by, decided_at=now, sent_at=now))  # fmt: skip

    def decisions(self, territory: str) -> list[BoardCase]:
        tb, bc = T.tumour_boards, T.board_cases
        q = select(bc).join(tb, tb.c.id == bc.c.board_id).where(tb.c.territory_id == territory)
        return [_board_case(r) for r in self.conn.execute(q).mappings()]
