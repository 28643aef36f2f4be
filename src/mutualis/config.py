"""Settings, read from the environment when :func:`Settings.from_env` is called (never at import).

| variable | default | meaning |
| --- | --- | --- |
| ``MUTUALIS_DATABASE_URL`` | ``sqlite:///var/mutualis.db`` | SQLAlchemy URL; ``postgresql+psycopg://…`` in production |
| ``MUTUALIS_SECRET_KEY`` | none (required outside ``demo``) | signs access tokens (HS256) |
| ``MUTUALIS_DICOM_AE_TITLE`` | ``MUTUALIS`` | our DICOM application entity title |
| ``MUTUALIS_TOKEN_MINUTES`` | ``480`` | lifetime of an access token (a working day) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mutualis.domain.errors import Problem, ValidationError

DEFAULT_DATABASE_URL = "sqlite:///var/mutualis.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    dicom_ae_title: str = "MUTUALIS"
    token_minutes: int = 480

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            minutes = int(env.get("MUTUALIS_TOKEN_MINUTES", "480"))
        except ValueError as exc:
            raise ValidationError(Problem("MUTUALIS_TOKEN_MINUTES", "expected a whole number of minutes")) from exc
        return cls(
            database_url=env.get("MUTUALIS_DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_key=env.get("MUTUALIS_SECRET_KEY") or None,
            dicom_ae_title=env.get("MUTUALIS_DICOM_AE_TITLE") or "MUTUALIS",
            token_minutes=minutes,
        )

    def with_secret(self, secret: str) -> Settings:
        return replace(self, secret_key=secret)

    def require_secret(self) -> str:
        if not self.secret_key:
            raise ValidationError(
                Problem("MUTUALIS_SECRET_KEY", "required to sign access tokens (outside `mutualis demo`)")
            )
        return self.secret_key
