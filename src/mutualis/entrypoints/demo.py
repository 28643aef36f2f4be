"""Demo accounts, one per role, drawn from the loaded example territories."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Order, OrderStatus, Patient, Priority, Sex
from mutualis.domain.territory import Profession, Territory
from mutualis.engines.slots import Shift
from mutualis.services import accounts, booking, reading

DEMO_PASSWORD = "mutualis-demo"

# INSEE codes of the towns the demo accounts work in
RODEZ, DECAZEVILLE, ESPALION, MONTMORILLON, POITIERS = "12202", "12089", "12096", "86165", "86194"


def _site(t: Territory, insee: str) -> str:
    return next(s.id for s in t.sites if s.insee == insee)


def _practitioner(t: Territory, profession: Profession, site: str) -> tuple[str, str]:
    establishment = t.establishment_of(site)
    p = next(
        (p for p in t.practitioners if p.profession is profession and p.establishment == establishment),
        next(p for p in t.practitioners if p.profession is profession),
    )
    return p.rpps, p.display_name


def demo_users(aveyron: Territory | None, vienne: Territory | None) -> list[User]:
    users = [User("admin", "Administrateur Mutualis", Role.ADMIN)]
    if aveyron:
        t = aveyron.id
        rodez, decaz, espalion = _site(aveyron, RODEZ), _site(aveyron, DECAZEVILLE), _site(aveyron, ESPALION)
        rad_rpps, rad_name = _practitioner(aveyron, Profession.RADIOLOGIST, rodez)
        merm_rpps, merm_name = _practitioner(aveyron, Profession.RADIOGRAPHER, decaz)
        users += [
            User("secretariat.espalion", "Secrétariat d'Espalion", Role.BOOKING_AGENT, t, sites=(espalion,)),
            User("coordination.aveyron", "Coordination du PIMM", Role.COORDINATOR, t, sites=(rodez,)),
            User("radiologue.rodez", rad_name, Role.RADIOLOGIST, t, sites=(rodez,), rpps=rad_rpps),
            User("manip.decazeville", merm_name, Role.RADIOGRAPHER, t, sites=(decaz,), rpps=merm_rpps),
        ]
    if vienne:
        t = vienne.id
        montmo, poitiers = _site(vienne, MONTMORILLON), _site(vienne, POITIERS)
        surgeon_rpps, surgeon_name = _practitioner(vienne, Profession.SURGEON, montmo)
        users += [
            User(
                "chirurgien.montmorillon", surgeon_name, Role.FEDERATION_SURGEON, t, sites=(montmo,), rpps=surgeon_rpps
            ),
            User("coordination.fmih", "Coordination de la FMIH", Role.COORDINATOR, t, sites=(poitiers,)),
        ]
    return users


def ensure_demo_accounts(container: Container) -> list[User]:
    """Create the demo accounts that are missing; reset the demo password of those that exist."""
    uow = container.uow()
    with uow:
        aveyron = uow.territories.get("aveyron-pimm")
        vienne = uow.territories.get("vienne-fmih")
    users = demo_users(aveyron, vienne)
    now = container.clock.now()
    for user in users:
        with uow:
            exists = uow.users.get(user.username) is not None
            if exists:
                uow.users.set_password_hash(user.username, container.hasher.hash(DEMO_PASSWORD))
                uow.audit.append(
                    AuditEvent(
                        at=now,
                        actor="demo",
                        action=Action.UPDATE,
                        resource="user",
                        resource_id=user.username,
                        address="cli",
                        detail={"password": "reset"},
                    )
                )
                uow.commit()
        if not exists:
            accounts.add_user(
                container.uow(), container.hasher, user, DEMO_PASSWORD, actor="demo", address="cli", now=now
            )
    return users


# exams acquired shortly before the demo starts, waiting to be read: (exam, priority, minutes ago)
READING_BACKLOG = (
    ("tdm-thorax-inj", Priority.URGENT, 25), ("tdm-crane", Priority.URGENT, 5), ("rx-thorax", Priority.INPATIENT, 90),
    ("irm-genou", Priority.OUTPATIENT, 240), ("irm-encephale", Priority.OUTPATIENT, 180),
    ("rx-bassin", Priority.OUTPATIENT, 60), ("tdm-abdo-pelvien-inj", Priority.INPATIENT, 45),
    ("mammo-depistage", Priority.SCREENING, 300), ("mammo-depistage", Priority.SCREENING, 200),
    ("mammo-depistage", Priority.SCREENING, 120),
)


def _machine_site(t: Territory, exam: str) -> str | None:
    x = next((e for e in t.exams if e.code == exam), None)
    machine = next((m for m in t.equipment if x is not None and m.modality == x.modality
                    and (not m.exams or exam in m.exams)), None)
    return machine.site if machine else None


def seed_reading(container: Container, t: Territory, radiologist: str, now: datetime) -> int:
    """For the demo: the demo radiologist on duty around the clock today and tomorrow (a stand-in
    for the on-call rota, which comes with rosters), and a small backlog of exams to read.
    Returns the number of exams added to the reading worklist (0 when one exists already)."""
    today = booking.to_local(now, t).date()
    tomorrow = today + timedelta(days=1)
    with container.uow() as uow:
        me = next(p for p in t.practitioners if p.rpps == radiologist)
        home = next(s.id for s in t.sites if s.establishment == me.establishment)
        shifts = [s for s in uow.presence.shifts(t.id, [s.id for s in t.sites], today, tomorrow)
                  if s.rpps != radiologist]
        shifts += [Shift(home, d, Profession.RADIOLOGIST.value, 0, 24 * 60, radiologist) for d in (today, tomorrow)]
        uow.presence.replace(t.id, today, tomorrow, shifts)
        if uow.reading.open(t.id):
            uow.commit()
            return 0
        patients = sorted({o.patient_id for o in uow.orders.list(t.id, limit=len(READING_BACKLOG) * 5)})
        added = 0
        for i, (exam, priority, ago) in enumerate(READING_BACKLOG):
            site = _machine_site(t, exam)
            if site is None or not patients:
                continue
            at = now - timedelta(minutes=ago)
            order = uow.orders.add(Order(t.id, patients[i % len(patients)], exam, radiologist, site, priority,
                                         at.date(), at.date() + timedelta(days=7), "Examen de démonstration",
                                         status=OrderStatus.ACQUIRED), at)
            added += reading.enqueue(uow, t, order, site, at) is not None
        uow.commit()
    return added


FEDERATION_PATIENTS = (
    ("1580786194", "Bernard", "Jacques", date(1958, 7, 3), Sex.MALE, "86165",
     "Adénocarcinome du côlon droit découvert en coloscopie, bilan d'extension négatif.", "digestive_oncology"),
    ("2640486194", "Moreau", "Colette", date(1964, 4, 12), Sex.FEMALE, "86165",
     "Éventration complexe après deux laparotomies, demande de prise en charge au CHU.", "heavy_surgery"),
)


def seed_federation(container: Container, t: Territory, surgeon: User, now: datetime) -> int:
    """For the demo: two referrals from Montmorillon to the CHU waiting for an answer, and a
    digestive tumour board next week. Returns the referrals added (0 when some exist already)."""
    from mutualis.domain.federation import Referral, ReferralReason, TumourBoard, Urgency
    from mutualis.services import federation

    if federation.referrals(container.uow(), surgeon, t.id, now=now):
        return 0
    chu = next(s.id for s in t.sites if s.insee == POITIERS)
    added = 0
    for nir13, last, first, born, sex, insee, summary, reason in FEDERATION_PATIENTS:
        with container.uow() as uow:
            nir = nir13 + "123"
            p = uow.patients.by_nir(t.id, nir + nir_key(nir)) or uow.patients.add(
                t.id, Patient(nir + nir_key(nir), last, first, born, sex, insee), now)
            uow.commit()
        federation.send_referral(container.uow(), surgeon, Referral(
            t.id, p.id or 0, surgeon.sites[0], chu, surgeon.rpps or "", ReferralReason(reason), Urgency.SOON, summary,
            ("compte rendu de coloscopie",) if reason == "digestive_oncology" else ()), address="demo", now=now)
        added += 1
    admin = User("demo", "Démonstration", Role.ADMIN)
    day = booking.to_local(now, t).date() + timedelta(days=7)
    federation.create_board(container.uow(), admin, TumourBoard(t.id, "RCP d'oncologie digestive", chu, day),
                            address="demo", now=now)  # fmt: skip
    return added
