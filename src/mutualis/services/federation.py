"""Use cases of the federation: referrals to the reference centre, tumour boards and their
decisions, the privileges the convention grants, and what its page shows (:func:`overview`).
Theatres, cases and the week's plan are in :mod:`mutualis.services.theatres`.

Who: federation surgeons, coordinators and administrators; a user acts on the referrals and
theatres of the sites their scope covers (home sites and privileges). Every act is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from mutualis.domain.accounts import Role, User, visible_sites
from mutualis.domain.audit import Action
from mutualis.domain.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.federation import (
    Attendee,
    BoardCase,
    Referral,
    ReferralEvent,
    ReferralStatus,
    SurgicalCase,
    TheatreBooking,
    TumourBoard,
    decision_problems,
    next_due,
    referral_problems,
    step,
)
from mutualis.domain.orders import Patient
from mutualis.domain.territory import Privilege, Territory
from mutualis.services.common import audit as _audit
from mutualis.services.common import territory as _territory
from mutualis.services.ports import UnitOfWork
from mutualis.services.theatres import TheatreWeek, theatre_week
from mutualis.services.theatres import scope as _scope

# --- referrals ----------------------------------------------------------------------------------


def send_referral(uow: UnitOfWork, user: User, r: Referral, *, address: str | None, now: datetime) -> int:
    with uow:
        t = _territory(uow, r.territory)
        sites = _scope(user, t, now)
        problems = referral_problems(r, [s.id for s in t.sites])
        if uow.patients.get(t.id, r.patient_id) is None:
            problems.append(Problem("patient_id", f"no patient {r.patient_id} in {t.id}"))
        if not any(p.rpps == r.referring_rpps for p in t.practitioners):
            problems.append(Problem("referring_rpps", f"{r.referring_rpps} is not a practitioner of {t.id}"))
        if problems:
            raise ValidationError(problems, "referral refused")
        if r.from_site not in sites:
            raise PermissionDenied(f"{r.from_site} is outside your scope")
        stored = replace(r, status=ReferralStatus.SENT, due_at=next_due(ReferralStatus.SENT, r.urgency, now))
        rid = uow.federation.add_referral(stored, now)
        uow.federation.add_event(rid, ReferralEvent(ReferralStatus.SENT, user.username, now, "adressage envoyé"))
        _audit(uow, user, Action.CREATE, "referral", rid, t.id, address, now, patient=r.patient_id,
               to=r.to_site, reason=r.reason.value)  # fmt: skip
        uow.commit()
    return rid


def advance_referral(uow: UnitOfWork, user: User, referral_id: int, status: ReferralStatus, note: str = "", *,
                     address: str | None, now: datetime) -> Referral:  # fmt: skip
    """Move a referral to its next step: the receiving site answers (accepted, redirected),
    sees the patient (consultation), operates (surgery), and sends the patient back (returned)."""
    with uow:
        r = uow.federation.referral(referral_id, for_update=True)
        if r is None:
            raise NotFound("referral", str(referral_id))
        t = _territory(uow, r.territory)
        sites = _scope(user, t, now)
        if r.to_site not in sites:
            raise PermissionDenied("only the receiving site's team moves a referral on")
        step(r.status, status)
        uow.federation.set_referral(referral_id, status, next_due(status, r.urgency, now), now)
        uow.federation.add_event(referral_id, ReferralEvent(status, user.username, now, note))
        _audit(uow, user, Action.UPDATE, "referral", referral_id, t.id, address, now, status=status.value)
        uow.commit()
        got = uow.federation.referral(referral_id)
    assert got is not None
    return got


def referral(uow: UnitOfWork, user: User, referral_id: int, *, address: str | None, now: datetime) -> Referral:
    with uow:
        r = uow.federation.referral(referral_id)
        if r is None:
            raise NotFound("referral", str(referral_id))
        t = _territory(uow, r.territory)
        sites = _scope(user, t, now)
        if r.from_site not in sites and r.to_site not in sites:
            raise NotFound("referral", str(referral_id))
        _audit(uow, user, Action.READ, "referral", referral_id, t.id, address, now, patient=r.patient_id)
        uow.commit()
    return r


@dataclass(frozen=True)
class ReferralPage:
    """A referral with what its page shows: the territory, the patient, its surgical cases and
    their bookings, and whether the user is on the receiving side (who moves it on)."""

    territory: Territory
    referral: Referral
    patient: Patient | None
    cases: tuple[tuple[SurgicalCase, TheatreBooking | None], ...]
    receiving: bool


def referral_page(uow: UnitOfWork, user: User, referral_id: int, *, address: str | None, now: datetime
                  ) -> ReferralPage:  # fmt: skip
    r = referral(uow, user, referral_id, address=address, now=now)
    with uow:
        t = _territory(uow, r.territory)
        cases = tuple((x, uow.federation.booking_of(x.id or 0)) for x in uow.federation.cases(t.id)
                      if x.referral_id == referral_id)  # fmt: skip
        patient = uow.patients.get(t.id, r.patient_id)
    return ReferralPage(t, r, patient, cases, r.to_site in visible_sites(user, t, now.date()))


def referrals(uow: UnitOfWork, user: User, territory_id: str, *, now: datetime) -> list[Referral]:
    """The referrals the user's sites send or receive, soonest due first."""
    with uow:
        t = _territory(uow, territory_id)
        return uow.federation.referrals(t.id, sorted(_scope(user, t, now)))


# --- tumour boards --------------------------------------------------------------------------------


def create_board(uow: UnitOfWork, user: User, b: TumourBoard, *, address: str | None, now: datetime) -> int:
    with uow:
        t = _territory(uow, b.territory)
        sites = _scope(user, t, now)
        if user.role not in (Role.COORDINATOR, Role.ADMIN):
            raise PermissionDenied("coordinators schedule tumour boards")
        if b.site not in sites:
            raise ValidationError(Problem("site", f"{b.site!r} is not a site of yours"))
        bid = uow.federation.add_board(b, now)
        _audit(uow, user, Action.CREATE, "tumour_board", bid, t.id, address, now, day=b.day.isoformat())
        uow.commit()
    return bid


def boards(uow: UnitOfWork, user: User, territory_id: str, first: date, last: date, *, now: datetime
           ) -> list[TumourBoard]:  # fmt: skip
    with uow:
        t = _territory(uow, territory_id)
        _scope(user, t, now)
        return uow.federation.boards(t.id, first, last)


def present_case(uow: UnitOfWork, user: User, board_id: int, c: BoardCase, *, address: str | None,
                 now: datetime) -> int:  # fmt: skip
    with uow:
        territory = uow.federation.board_territory(board_id)
        if territory is None:
            raise NotFound("tumour board", str(board_id))
        t = _territory(uow, territory)
        _scope(user, t, now)
        if uow.patients.get(t.id, c.patient_id) is None:
            raise ValidationError(Problem("patient_id", f"no patient {c.patient_id} in {t.id}"))
        if len(c.question.strip()) < 5:
            raise ValidationError(Problem("question", "the question put to the board"))
        cid = uow.federation.add_board_case(replace(c, board_id=board_id), now)
        _audit(uow, user, Action.CREATE, "board_case", cid, t.id, address, now, patient=c.patient_id,
               standard=c.standard)  # fmt: skip
        uow.commit()
    return cid


def record_decision(uow: UnitOfWork, user: User, case_id: int, attendees: Sequence[Attendee], decision: str, *,
                    address: str | None, now: datetime) -> None:  # fmt: skip
    """Record the board's decision (quorum checked) and send it to the referring physician
    (on the referral's history when the case came through a referral)."""
    with uow:
        c = uow.federation.board_case(case_id)
        if c is None:
            raise NotFound("board case", str(case_id))
        territory = uow.federation.board_territory(c.board_id)
        assert territory is not None
        t = _territory(uow, territory)
        _scope(user, t, now)
        if c.decided_at is not None:
            raise Conflict(f"board case {case_id} is decided already")
        problems = decision_problems(c, attendees, decision)
        if problems:
            raise ValidationError(problems, "decision refused")
        uow.federation.decide(case_id, attendees, decision.strip(), user.username, now)
        if c.referral_id is not None:
            r = uow.federation.referral(c.referral_id)
            if r is not None:
                note = f"décision de RCP : {decision.strip()}"
                uow.federation.add_event(c.referral_id, ReferralEvent(r.status, user.username, now, note))
        _audit(uow, user, Action.UPDATE, "board_case", case_id, t.id, address, now, decided=True,
               attendees=[a.specialty for a in attendees])  # fmt: skip
        uow.commit()


def known_patients(uow: UnitOfWork, user: User, territory_id: str, text: str = "", *, address: str | None,
                   now: datetime) -> list[Patient]:  # fmt: skip
    """Patients of the territory matching ``text`` (all, up to 200, when empty), for the
    referral form (audited read)."""
    with uow:
        t = _territory(uow, territory_id)
        _scope(user, t, now)
        found = uow.patients.search(t.id, text, limit=200)
        _audit(uow, user, Action.READ, "patient", None, t.id, address, now, query=text,
               patients=[p.id for p in found])  # fmt: skip
        uow.commit()
    return found


def patient_names(uow: UnitOfWork, t: Territory, ids: Sequence[int]) -> dict[int, str]:
    """Display names of patients (inside the caller's audited read)."""
    return {pid: f"{p.last_name.upper()} {p.first_name}" for pid, p in uow.patients.many(t.id, ids).items()}


@dataclass(frozen=True)
class Overview:
    """What the federation's page shows: the week's theatres, the referrals, the boards, with
    the patients' names (one audited read)."""

    territory: Territory
    week: TheatreWeek
    referrals: tuple[Referral, ...]
    boards: tuple[TumourBoard, ...]
    names: dict[int, str]
    sites: frozenset[str]


def overview(uow: UnitOfWork, user: User, territory_id: str, week_start: date, *, address: str | None,
             now: datetime) -> Overview:  # fmt: skip
    week = theatre_week(uow, user, territory_id, week_start, now=now)
    sent = referrals(uow, user, territory_id, now=now)
    agenda = boards(uow, user, territory_id, week_start - timedelta(days=28), week_start + timedelta(days=56),
                    now=now)  # fmt: skip
    with uow:
        t = _territory(uow, territory_id)
        sites = _scope(user, t, now)
        ids = [c.patient_id for _, c, _ in week.bookings] + [c.patient_id for c, _ in week.waiting]
        ids += [r.patient_id for r in sent] + [c.patient_id for b in agenda for c in b.cases]
        names = patient_names(uow, t, ids)
        _audit(uow, user, Action.READ, "patient", None, t.id, address, now, patients=sorted(names))
        uow.commit()
    return Overview(t, week, tuple(sent), tuple(agenda), names, sites)


# --- privileges under the convention ---------------------------------------------------------------


def grant_privilege(uow: UnitOfWork, user: User, territory_id: str, convention_id: str, privilege: Privilege, *,
                    address: str | None, now: datetime) -> None:  # fmt: skip
    """Add a privilege to a convention (coordinators of a site it opens; audited with what it grants)."""
    with uow:
        t = _territory(uow, territory_id)
        sites = _scope(user, t, now)
        if user.role not in (Role.COORDINATOR, Role.ADMIN):
            raise PermissionDenied("coordinators grant privileges")
        convention = next((c for c in t.conventions if c.id == convention_id), None)
        if convention is None:
            raise NotFound("convention", convention_id)
        problems = []
        if not any(p.rpps == privilege.rpps for p in t.practitioners):
            problems.append(Problem("rpps", f"{privilege.rpps} is not a practitioner of {t.id}"))
        if not privilege.sites or not set(privilege.sites) <= sites:
            problems.append(Problem("sites", "sites of yours, at least one"))
        if not privilege.platforms:
            problems.append(Problem("platforms", "at least one platform"))
        if privilege.start and privilege.end and privilege.end < privilege.start:
            problems.append(Problem("end", "before the start"))
        if problems:
            raise ValidationError(problems, "privilege refused")
        _store(uow, t, convention_id, (*convention.privileges, privilege), now)
        _audit(uow, user, Action.CREATE, "privilege", privilege.rpps, t.id, address, now, convention=convention_id,
               sites=list(privilege.sites), platforms=[p.value for p in privilege.platforms],
               start=privilege.start.isoformat() if privilege.start else None,
               end=privilege.end.isoformat() if privilege.end else None)  # fmt: skip
        uow.commit()


def revoke_privilege(uow: UnitOfWork, user: User, territory_id: str, convention_id: str, rpps: str, site: str,
                     last_day: date, *, address: str | None, now: datetime) -> int:  # fmt: skip
    """End ``rpps``'s privileges on ``site`` after ``last_day`` (their history is kept: the
    privilege gets an end date); the number of privileges ended. Audited."""
    with uow:
        t = _territory(uow, territory_id)
        sites = _scope(user, t, now)
        if user.role not in (Role.COORDINATOR, Role.ADMIN):
            raise PermissionDenied("coordinators revoke privileges")
        if site not in sites:
            raise PermissionDenied(f"{site} is outside your scope")
        convention = next((c for c in t.conventions if c.id == convention_id), None)
        if convention is None:
            raise NotFound("convention", convention_id)
        changed = 0
        kept = []
        for pv in convention.privileges:
            if pv.rpps == rpps and site in pv.sites and pv.in_force(last_day) and (pv.end is None or pv.end > last_day):
                kept.append(replace(pv, end=last_day))
                changed += 1
            else:
                kept.append(pv)
        if not changed:
            raise NotFound("privilege", f"{rpps} on {site}")
        _store(uow, t, convention_id, tuple(kept), now)
        _audit(uow, user, Action.UPDATE, "privilege", rpps, t.id, address, now, convention=convention_id, site=site,
               revoked_after=last_day.isoformat())  # fmt: skip
        uow.commit()
    return changed


def _store(uow: UnitOfWork, t: Territory, convention_id: str, privileges: tuple[Privilege, ...], now: datetime) -> None:
    conventions = tuple(replace(c, privileges=privileges) if c.id == convention_id else c for c in t.conventions)
    uow.territories.save(replace(t, conventions=conventions), "privileges", now)
