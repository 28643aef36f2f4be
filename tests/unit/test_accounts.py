"""Who may act on which sites: scopes follow the conventions in force."""

from dataclasses import replace
from datetime import date

from mutualis.domain.accounts import Role, User, scope_problems, visible_sites
from mutualis.domain.territory import Territory

ON = date(2026, 11, 23)


def test_booking_agent_gets_the_pooled_sites_not_the_clinic(mini: Territory) -> None:
    agent = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",))
    assert visible_sites(agent, mini, ON) == {"espalion", "rodez"}


def test_nothing_once_the_convention_has_ended(mini: Territory) -> None:
    agent = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",))
    assert visible_sites(agent, mini, date(2030, 1, 1)) == {"espalion"}


def test_nothing_of_another_territory(mini: Territory) -> None:
    agent = User("agent", "Agent", Role.BOOKING_AGENT, "aveyron-pimm", sites=("espalion",))
    assert visible_sites(agent, mini, ON) == frozenset()


def test_radiologist_gets_home_and_privileged_sites(mini: Territory) -> None:
    rad = User("rad", "Rad", Role.RADIOLOGIST, "mini", establishments=("120000013",), rpps="10000000017")
    assert visible_sites(rad, mini, ON) == {"rodez", "espalion"}
    expired = replace(mini, conventions=tuple(
        replace(c, privileges=tuple(replace(p, end=date(2025, 1, 1)) for p in c.privileges)) for c in mini.conventions))
    assert visible_sites(rad, expired, ON) == {"rodez"}


def test_radiographer_without_privilege_stays_home(mini: Territory) -> None:
    merm = User("merm", "Merm", Role.RADIOGRAPHER, "mini", sites=("espalion",), rpps="10000000025")
    assert visible_sites(merm, mini, ON) == {"espalion"}


def test_clinic_staff_see_only_their_clinic(mini: Territory) -> None:
    agent = User("c", "C", Role.BOOKING_AGENT, "mini", sites=("clinique",))
    assert visible_sites(agent, mini, ON) == {"clinique"}


def test_admins(mini: Territory) -> None:
    assert visible_sites(User("a", "A", Role.ADMIN), mini, ON) == {"rodez", "espalion", "clinique"}
    assert visible_sites(User("a", "A", Role.ADMIN, "other"), mini, ON) == frozenset()


def test_inactive_user_sees_nothing(mini: Territory) -> None:
    agent = User("agent", "Agent", Role.BOOKING_AGENT, "mini", sites=("espalion",), active=False)
    assert visible_sites(agent, mini, ON) == frozenset()


def test_scope_problems(mini: Territory) -> None:
    bad = User("x", "X", Role.RADIOLOGIST, "mini", sites=("millau",), establishments=("999999999",), rpps="10000000099")
    assert scope_problems(bad, mini) == [
        "unknown establishment '999999999'", "unknown site 'millau'", "unknown practitioner RPPS '10000000099'"]
    assert scope_problems(User("y", "Y", Role.BOOKING_AGENT, "mini"), mini) == [
        "give at least one establishment or site as home scope"]
    assert scope_problems(User("z", "Z", Role.BOOKING_AGENT), None) == ["every role but admin needs a territory"]
