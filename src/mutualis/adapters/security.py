"""Password hashes (argon2id) and access tokens (JWT, HS256). jwt's and argon2's exceptions
end here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mutualis.domain.errors import AuthenticationError


class Argon2Hasher:
    def __init__(self) -> None:
        self._ph = PasswordHasher()

    def hash(self, password: str) -> str:
        return str(self._ph.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._ph.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return bool(self._ph.check_needs_rehash(password_hash))


@dataclass(frozen=True)
class TokenCodec:
    secret: str
    minutes: int = 480
    algorithm: str = "HS256"

    def issue(self, username: str, role: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {"sub": username, "role": role, "iat": now, "exp": now + timedelta(minutes=self.minutes)}
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def subject(self, token: str) -> str:
        """The username a valid token was issued to."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[self.algorithm], options={"require": ["sub", "exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid access token") from exc
        return str(claims["sub"])
