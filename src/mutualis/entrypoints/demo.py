"""Demo accounts, one per role, drawn from the loaded example territories."""

from __future__ import annotations

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.territory import Profession, Territory
from mutualis.services import accounts

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
