"""The federation's storage: referrals and their history, surgical cases and theatre bookings,
tumour boards and their cases."""

from __future__ import annotations

from sqlalchemy import Connection


class FederationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
