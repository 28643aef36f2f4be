"""Request-scoped dependencies: the container, the caller's address, and the role guard that
every route declares (``requires(...)`` for the API's bearer tokens, ``page_user(...)`` for
pages, which carry the same token in an HttpOnly cookie)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from mutualis.bootstrap import Container
from mutualis.domain.accounts import Role, User
from mutualis.domain.errors import AuthenticationError, PermissionDenied
from mutualis.services.accounts import active_user

SESSION_COOKIE = "mutualis_session"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


class RoleGuard:
    """Resolves the caller and checks their role; ``roles`` is what the route declares."""

    def __init__(self, roles: tuple[Role, ...], *, cookie: bool) -> None:
        self.roles = roles
        self.cookie = cookie

    def _user(self, request: Request, token: str | None) -> User:
        if not token:
            raise AuthenticationError("not authenticated")
        container = get_container(request)
        user = active_user(container.uow(), container.tokens.subject(token))
        if user.role not in self.roles:
            raise PermissionDenied(f"role {user.role.value} may not do this (needs {', '.join(self.roles)})")
        return user


class BearerGuard(RoleGuard):
    def __call__(self, request: Request, token: str | None = Depends(oauth2_scheme)) -> User:
        return self._user(request, token)


class CookieGuard(RoleGuard):
    def __call__(self, request: Request) -> User:
        return self._user(request, request.cookies.get(SESSION_COOKIE))


def requires(*roles: Role) -> BearerGuard:
    return BearerGuard(roles, cookie=False)


def page_user(*roles: Role) -> CookieGuard:
    return CookieGuard(roles, cookie=True)
