"""Booking pages, in French: find or register a patient, order an exam, pick one of the ranked slots
(drawn on a timeline), book or cancel; and each machine's agenda, by day or by week.

Handlers only translate HTTP: the use cases of :mod:`mutualis.services.booking` do the work and
the auditing. Presentation (French dates, the timeline and agenda geometry) is in small pure
functions at the top of the module."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from mutualis.adapters import fhir
from mutualis.bootstrap import Container
from mutualis.domain.accounts import User
from mutualis.domain.errors import Conflict, NotFound, Problem, ValidationError
from mutualis.domain.orders import Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import WEEKDAYS, Equipment, Exam, Territory
from mutualis.engines.slots import Proposal
from mutualis.entrypoints.web.deps import client_address, get_container, page_user
from mutualis.entrypoints.web.pages import ROLE_FR, templates
from mutualis.services import booking, reports, territories
from mutualis.services.booking import BOOKERS, READERS

router = APIRouter(include_in_schema=False)
ContainerDep = Annotated[Container, Depends(get_container)]
Booker = Annotated[User, Depends(page_user(*BOOKERS))]
Reader = Annotated[User, Depends(page_user(*READERS))]

# --- French words ---------------------------------------------------------------------------------

DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
REASONS_FR: tuple[tuple[str, str], ...] = (  # what the domain says (English) → what the page says
    (r"^required$", "obligatoire"),
    (r"^a NIR/INS is", "15 caractères : sexe, année, mois, département, commune, rang, puis une clé de 2 chiffres"),
    (r"^invalid NIR key \(expected (\d+)\)", r"clé du NIR invalide (clé attendue : \1)"),
    (r"^the NIR starts with (\d)", r"le NIR commence par \1, ce qui ne correspond pas au sexe indiqué"),
    (r"^the NIR gives birth year \.\.(\d+), not (\d+)", r"le NIR indique une naissance en ..\1, pas en \2"),
    (r"^in the future$", "date dans le futur"),
    (r"^unknown INSEE commune code", "code commune INSEE inconnu"),
    (r"^digits, spaces", "chiffres, espaces et + . - ( ) uniquement"),
    (r"^an RPPS number is", "un numéro RPPS compte 11 chiffres et commence par 1"),
    (r"^invalid RPPS key", "clé du numéro RPPS invalide"),
    (r"^due by .* is before", "la date au plus tard précède la date au plus tôt"),
    (r"^screening applies", "le dépistage ne concerne que la mammographie de dépistage"),
    (r"cannot perform this exam$", "cet équipement ne réalise pas cet examen"),
    (r"^outside opening hours$", "hors des heures d'ouverture"),
    (r"^during a closure$", "pendant une fermeture de l'équipement"),
    (r"^overlaps a booking$", "chevauche un autre rendez-vous"),
    (r"^not enough staff present$", "personnel présent insuffisant"),
    (r"^starts before the earliest", "commence avant la date au plus tôt"),
    (r"^an order .* cannot become", "cette demande a changé d'état entre-temps : rechargez la page"),
)


def day_fr(d: date, *, year: bool = False) -> str:
    """``mardi 24 novembre`` (``… 2026`` with ``year``)."""
    return f"{DAYS_FR[d.weekday()]} {d.day} {MONTHS_FR[d.month - 1]}" + (f" {d.year}" if year else "")


def when_fr(dt: datetime) -> str:
    """``mardi 24 novembre, 09:40``."""
    return f"{day_fr(dt.date())}, {dt:%H:%M}"


def num_fr(x: float) -> str:
    """One decimal with a comma, none when whole: ``20,4``, ``33``."""
    return f"{x:.1f}".replace(".", ",").removesuffix(",0")


def score_fr(p: Proposal) -> str:
    """The score in words: ``attente 20,4 + trajet 33 + retard 0 = 53,4``."""
    b = p.breakdown
    return (f"attente {num_fr(b.get('wait', 0))} + trajet {num_fr(b.get('travel', 0))} "
            f"+ retard {num_fr(b.get('late', 0))} = {num_fr(p.score)}")


def reason_fr(reason: str) -> str:
    """A use case's reason in French; one not known here passes through as it is."""
    for pattern, french in REASONS_FR:
        if m := re.search(pattern, reason):
            return m.expand(french)
    return reason


def problems_fr(problems: Sequence[Problem]) -> list[tuple[str, str]]:
    """(field, French reason) of each problem; the templates name the fields."""
    return [(p.location, reason_fr(p.reason)) for p in problems]


def parse_date(text: str, field: str, problems: list[Problem]) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append(Problem(field, "date manquante ou invalide (jj/mm/aaaa)"))
        return None


# --- timeline and agenda geometry ----------------------------------------------------------------

AXIS_START, AXIS_END = 7 * 60, 21 * 60  # the agenda's time axis, minutes since local midnight


def rank_colour(rank: int, count: int) -> str:
    """Green for the best proposal, through amber, to orange for the last."""
    hue = 140 - 115 * (rank / max(1, count - 1))
    return f"hsl({hue:.0f}, 60%, 36%)"


def timeline(proposals: Sequence[Proposal], today: date, names: Mapping[str, tuple[str, str]]
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Day ticks from ``today`` to the latest proposal (+1 day) — the month named where it starts —
    and one row per machine whose markers sit at their day, nudged by the time of day (07:00–21:00)."""
    days = max([(p.start.date() - today).days for p in proposals] + [0]) + 1
    dates = [today + timedelta(days=i) for i in range(days)]
    ticks = [{"label": f"{DAYS_FR[d.weekday()][:3]}. {d.day}", "weekend": d.weekday() >= 5, "today": d == today,
              "month": MONTHS_FR[d.month - 1] if d == today or d.day == 1 else ""} for d in dates]
    rows: dict[str, dict[str, Any]] = {}
    for rank, p in enumerate(proposals):
        machine, site = names.get(p.equipment, (p.equipment, p.site))
        row = rows.setdefault(p.equipment, {"equipment": p.equipment, "machine": machine, "site": site, "markers": []})
        within = min(0.85, max(0.15, (p.start.hour * 60 + p.start.minute - AXIS_START) / (AXIS_END - AXIS_START)))
        row["markers"].append((round(((p.start.date() - today).days + within) / days * 100, 3), rank))  # (left %, rank)
    return ticks, list(rows.values())


def band(start_min: int, end_min: int) -> tuple[float, float] | None:
    """(top, height) in % of the 07:00–21:00 axis for minutes [start, end); None when outside it."""
    a, b = max(start_min, AXIS_START), min(end_min, AXIS_END)
    if b <= a:
        return None
    span = AXIS_END - AXIS_START
    return round((a - AXIS_START) / span * 100, 3), round((b - a) / span * 100, 3)


def _minutes_in(day: date, start: datetime, end: datetime) -> tuple[int, int]:
    """[start, end) as minutes of ``day`` (clipped to the day)."""
    midnight = datetime.combine(day, time())
    a = max(start, midnight) - midnight
    b = min(end, midnight + timedelta(days=1)) - midnight
    return int(a.total_seconds() // 60), int(b.total_seconds() // 60)


def agenda_day(machine: Equipment, day: date, rows: Sequence[Mapping[str, Any]], exams: Mapping[str, Exam]
               ) -> dict[str, Any]:
    """One column of a machine's agenda: its opening hours, closures and appointment blocks."""
    opening = [b for r in machine.opening_hours.get(WEEKDAYS[day.weekday()], ()) if (b := band(r.start, r.end))]
    closures = [(b, c.reason) for c in machine.closures if (b := band(*_minutes_in(day, c.start, c.end)))]
    blocks = []
    for r in rows:
        start, end = r["start"], r["end"]
        if not (start.date() <= day <= end.date()) or not (b := band(*_minutes_in(day, start, end))):
            continue
        exam = exams.get(str(r["exam_code"]))
        blocks.append({"top": b[0], "height": b[1], "time": f"{start:%H:%M}–{end:%H:%M}",
                       "patient": f"{str(r['last_name']).upper()} {r['first_name']}", "exam": r["exam_code"],
                       "exam_label": exam.label if exam else r["exam_code"], "priority": r["priority"],
                       "status": r["status"], "accession": r["accession_number"], "order_id": r["order_id"]})
    return {"day": day, "label": f"{DAYS_FR[day.weekday()][:3]}. {day.day}/{day.month:02d}",
            "title": day_fr(day), "opening": opening, "closures": closures, "blocks": blocks}


# --- step 1 and 2: patient, then order ------------------------------------------------------------


class PatientForm(BaseModel):
    territoire: str = ""
    nir: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: str = ""
    sex: str = ""
    insee: str = ""
    phone: str = ""


class OrderForm(BaseModel):
    territoire: str = ""
    patient: int = 0
    exam: str = ""
    priority: str = "outpatient"
    requesting_site: str = ""
    requester: str = ""
    requester_free: str = ""
    not_before: str = ""
    due_by: str = ""
    clinical_info: str = ""


def _booking_view(request: Request, c: Container, user: User, territory_id: str, *, q: str = "",
                  patient_id: int | None = None, form: Mapping[str, Any] | None = None,
                  problems: Sequence[Problem] = (), message: str | None = None, status: int = 200) -> Response:
    address, now = client_address(request), c.clock.now()
    (t,) = territories.read_territories(c.uow(), user, resource="territory", now=now, address=address,
                                        territory_id=territory_id)
    found = booking.find_patients(c.uow(), user, t.id, q, address=address, now=now) if q.strip() else []
    patient, history = (booking.get_patient(c.uow(), user, t.id, patient_id, address=address, now=now)
                        if patient_id else (None, []))
    communes = c.communes
    departments = {communes[s.insee].department for s in t.sites if s.insee in communes}
    today = booking.to_local(now, t).date()
    home = next((s.id for s in t.sites if s.id in user.sites), t.sites[0].id if t.sites else "")
    defaults = {"not_before": today.isoformat(), "due_by": (today + timedelta(days=14)).isoformat(),
                "priority": "outpatient", "requesting_site": home}
    listed = problems_fr(problems)
    return templates.TemplateResponse(request, "reservation.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "q": q, "found": found, "patient": patient, "history": history,
        "exams": {x.code: x for x in t.exams}, "commune_of": communes,
        "communes": sorted((x for x in communes.values() if x.department in departments), key=lambda x: x.name),
        "practitioners": sorted(t.practitioners, key=lambda p: (p.last_name, p.first_name)),
        "form": {**defaults, **(form or {})}, "problems": listed, "invalid": {f for f, _ in listed},
        "message": message}, status_code=status)


@router.get("/reservation", response_class=HTMLResponse)
def booking_page(request: Request, c: ContainerDep, user: Booker, territoire: str | None = None, q: str = "",
                 patient: int | None = None) -> Response:
    if not (territoire or user.territory):
        return RedirectResponse("/", status_code=303)
    return _booking_view(request, c, user, territoire or user.territory or "", q=q, patient_id=patient)


@router.post("/reservation/patients")
def create_patient(request: Request, c: ContainerDep, user: Booker, f: Annotated[PatientForm, Form()]) -> Response:
    problems: list[Problem] = []
    born = parse_date(f.birth_date, "birth_date", problems)
    if f.sex not in {s.value for s in Sex}:
        problems.append(Problem("sex", "à choisir"))
    try:
        if problems or born is None:
            raise ValidationError(problems)
        p = Patient(f.nir.strip(), f.last_name.strip(), f.first_name.strip(), born, Sex(f.sex), f.insee.strip(),
                    f.phone.strip())
        stored = booking.register_patient(c.uow(), user, f.territoire, p, c.communes,
                                          address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _booking_view(request, c, user, f.territoire, form=f.model_dump(), problems=exc.problems,
                             status=422)
    except Conflict:
        return _booking_view(request, c, user, f.territoire, q=f.nir.replace(" ", ""), form=f.model_dump(),
                             message="Un patient avec ce NIR existe déjà dans le territoire : le voici ci-dessous.",
                             status=409)
    return RedirectResponse(f"/reservation?territoire={f.territoire}&patient={stored.id}", status_code=303)


@router.post("/reservation/commandes")
def create_order(request: Request, c: ContainerDep, user: Booker, f: Annotated[OrderForm, Form()]) -> Response:
    problems: list[Problem] = []
    not_before = parse_date(f.not_before, "not_before", problems)
    due_by = parse_date(f.due_by, "due_by", problems)
    if f.priority not in {p.value for p in Priority}:
        problems.append(Problem("priority", "à choisir"))
    try:
        if problems or not_before is None or due_by is None:
            raise ValidationError(problems)
        order = Order(f.territoire, f.patient, f.exam, f.requester_free.strip() or f.requester, f.requesting_site,
                      Priority(f.priority), not_before, due_by, f.clinical_info.strip())
        stored = booking.create_order(c.uow(), user, order, address=client_address(request), now=c.clock.now())
    except ValidationError as exc:
        return _booking_view(request, c, user, f.territoire, patient_id=f.patient, form=f.model_dump(),
                             problems=exc.problems, status=422)
    return RedirectResponse(f"/reservation/commandes/{stored.id}", status_code=303)


# --- step 3: the order, its ranked slots, book or cancel -------------------------------------------


def _proposal_views(proposals: Sequence[Proposal], t: Territory, today: date) -> list[dict[str, Any]]:
    machines = {e.id: e.name for e in t.equipment}
    sites = {s.id: s.name for s in t.sites}
    return [{
        "rank": rank + 1, "colour": rank_colour(rank, len(proposals)), "equipment": p.equipment,
        "machine": machines.get(p.equipment, p.equipment), "site": sites.get(p.site, p.site),
        "start": p.start.strftime("%Y-%m-%dT%H:%M"), "day": day_fr(p.start.date()), "time": f"{p.start:%H:%M}",
        "end": f"{p.end:%H:%M}", "when": when_fr(p.start), "wait_days": (p.start.date() - today).days,
        "travel": round(p.travel_minutes), "late": p.late_days, "score": score_fr(p),
    } for rank, p in enumerate(proposals)]


def _order_view(request: Request, c: Container, user: User, order_id: int, *, confirmed: bool = False,
                cancelled: bool = False, taken: bool = False, problems: Sequence[Problem] = (),
                status: int = 200) -> Response:
    address, now = client_address(request), c.clock.now()
    order, patient, appointment = booking.get_order(c.uow(), user, order_id, address=address, now=now)
    (t,) = territories.read_territories(c.uow(), user, resource="territory", now=now, address=address,
                                        territory_id=order.territory)
    proposals: list[Proposal] = []
    if order.status is OrderStatus.REQUESTED:
        _, _, proposals = booking.find_slots(c.uow(), user, order_id, c.communes, count=12, address=address,
                                             now=now)
    today = booking.to_local(now, t).date()
    names = {e.id: (e.name, t.site(e.site).name) for e in t.equipment}
    ticks, rows = timeline(proposals, today, names)
    appt = None
    if appointment is not None:
        start, end = booking.to_local(appointment.start, t), booking.to_local(appointment.end, t)
        machine, site = names.get(appointment.equipment, (appointment.equipment, ""))
        appt = {"when": when_fr(start), "end": f"{end:%H:%M}", "machine": machine, "site": site,
                "agenda": f"/agenda/{t.id}/{appointment.equipment}?jour={start.date().isoformat()}&vue=jour"}
    report = None
    if order.status is OrderStatus.REPORTED:  # the signed report, delivered back to the requesting site
        try:
            _, _, signed, _ = reports.report_for_order(c.uow(), user, order_id, address=address, now=now)
            label = next((x.label for x in t.exams if x.code == order.exam), order.exam)
            report = {"text": fhir.report_text(signed, label), "amended": bool(signed.addenda)}
        except NotFound:
            report = None  # a screening exam: its readings are recorded as a case, not as a report
    return templates.TemplateResponse(request, "reservation_commande.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "order": order, "patient": patient, "appt": appt,
        "report": report,
        "exam": next((x for x in t.exams if x.code == order.exam), None), "commune": c.communes.get(patient.insee),
        "requester": next((p for p in t.practitioners if p.rpps == order.requester), None),
        "site_name": next((s.name for s in t.sites if s.id == order.requesting_site), ""),
        "proposals": _proposal_views(proposals, t, today), "ticks": ticks, "rows": rows,
        "confirmed": confirmed, "cancelled": cancelled, "taken": taken, "problems": problems_fr(problems),
        "horizon": t.booking.horizon_days}, status_code=status)


@router.get("/reservation/commandes/{order_id}", response_class=HTMLResponse)
def order_page(order_id: int, request: Request, c: ContainerDep, user: Booker, confirme: bool = False,
               annule: bool = False) -> Response:
    return _order_view(request, c, user, order_id, confirmed=confirme, cancelled=annule)


@router.post("/reservation/commandes/{order_id}/reserver")
def book(order_id: int, request: Request, c: ContainerDep, user: Booker, equipment: Annotated[str, Form()] = "",
         start: Annotated[str, Form()] = "") -> Response:
    try:
        start_local = datetime.fromisoformat(start)
    except ValueError:  # not a date and time: the form was tampered with
        return _order_view(request, c, user, order_id, problems=[Problem("start", "créneau invalide")], status=422)
    try:
        booking.book(c.uow(), user, order_id, equipment, start_local, c.communes, address=client_address(request),
                     now=c.clock.now())
    except Conflict:  # someone booked it since the page showed it
        return _order_view(request, c, user, order_id, taken=True, status=409)
    except ValidationError as exc:
        return _order_view(request, c, user, order_id, problems=exc.problems, status=422)
    return RedirectResponse(f"/reservation/commandes/{order_id}?confirme=1", status_code=303)


@router.post("/reservation/commandes/{order_id}/annuler")
def cancel(order_id: int, request: Request, c: ContainerDep, user: Booker,
           motif: Annotated[str, Form()] = "") -> Response:
    try:
        booking.cancel_appointment(c.uow(), user, order_id, reason=motif.strip(), address=client_address(request),
                                   now=c.clock.now())
    except ValidationError as exc:
        return _order_view(request, c, user, order_id, problems=exc.problems, status=422)
    return RedirectResponse(f"/reservation/commandes/{order_id}?annule=1", status_code=303)


# --- a machine's agenda ------------------------------------------------------------------------------


@router.get("/agenda/{territory_id}/{equipment}", response_class=HTMLResponse)
def agenda(territory_id: str, equipment: str, request: Request, c: ContainerDep, user: Reader,
           jour: str = "", vue: str = "semaine") -> Response:
    week, now = vue != "jour", c.clock.now()
    with c.uow() as uow:  # only for the territory's clock; the use case below checks the scope
        found = uow.territories.get(territory_id)
    local_now = booking.to_local(now, found) if found else now.replace(tzinfo=None)
    try:
        day = date.fromisoformat(jour)
    except ValueError:
        day = local_now.date()
    first = day - timedelta(days=day.weekday()) if week else day
    t, rows = booking.machine_calendar(c.uow(), user, territory_id, equipment, first, 7 if week else 1,
                                       address=client_address(request), now=now)
    machine = next(e for e in t.equipment if e.id == equipment)
    exams = {x.code: x for x in t.exams}
    columns = [agenda_day(machine, first + timedelta(days=i), rows, exams) for i in range(7 if week else 1)]
    now_band = band(minute := local_now.hour * 60 + local_now.minute, minute + 1)
    return templates.TemplateResponse(request, "agenda.html", {
        "user": user, "role_fr": ROLE_FR, "t": t, "machine": machine, "site": t.site(machine.site), "week": week,
        "day": day, "columns": columns, "today": local_now.date(), "now_top": now_band[0] if now_band else None,
        "hours": list(range(AXIS_START // 60, AXIS_END // 60 + 1)), "here": f"/agenda/{t.id}/{equipment}",
        "title": (f"Semaine du {day_fr(first)} au {day_fr(first + timedelta(days=6), year=True)}" if week
                  else day_fr(day, year=True)),
        "nav": {"prev_week": day - timedelta(days=7), "prev_day": day - timedelta(days=1),
                "next_day": day + timedelta(days=1), "next_week": day + timedelta(days=7)},
        "count": sum(len(col["blocks"]) for col in columns), "booker": user.role in BOOKERS})
