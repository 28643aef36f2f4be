"""The unit of work over SQLAlchemy: one connection, one transaction; foreign database errors
become Mutualis errors here."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from mutualis.adapters.db.booking import (
    AppointmentRepository,
    OfferRepository,
    OrderRepository,
    PatientRepository,
    PresenceRepository,
)
from mutualis.adapters.db.dicom import MppsRepository, WorklistRepository
from mutualis.adapters.db.federation import FederationRepository
from mutualis.adapters.db.protocols import ProtocolRepository
from mutualis.adapters.db.reading import ReadingTaskRepository, ReportRepository, ScreeningRepository
from mutualis.adapters.db.repositories import AuditLog, TerritoryRepository, UserRepository
from mutualis.adapters.db.rosters import RosterRepository
from mutualis.adapters.db.schedule import ScheduleRepository
from mutualis.domain.errors import Conflict, MutualisError


class StorageUnavailable(MutualisError):
    """The database cannot be reached or refused the operation for a reason of its own."""


class SqlUnitOfWork:
    territories: TerritoryRepository
    users: UserRepository
    audit: AuditLog
    patients: PatientRepository
    orders: OrderRepository
    appointments: AppointmentRepository
    presence: PresenceRepository
    offers: OfferRepository
    worklist: WorklistRepository
    mpps: MppsRepository
    reading: ReadingTaskRepository
    reports: ReportRepository
    screening: ScreeningRepository
    schedule: ScheduleRepository
    rosters: RosterRepository
    federation: FederationRepository
    protocols: ProtocolRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        try:
            self._conn = self.engine.connect()
            self._conn.begin()
        except OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {exc.orig}") from exc
        self.territories = TerritoryRepository(self._conn)
        self.users = UserRepository(self._conn)
        self.audit = AuditLog(self._conn)
        self.patients = PatientRepository(self._conn)
        self.orders = OrderRepository(self._conn)
        self.appointments = AppointmentRepository(self._conn)
        self.presence = PresenceRepository(self._conn)
        self.offers = OfferRepository(self._conn)
        self.worklist = WorklistRepository(self._conn)
        self.mpps = MppsRepository(self._conn)
        self.reading = ReadingTaskRepository(self._conn)
        self.reports = ReportRepository(self._conn)
        self.screening = ScreeningRepository(self._conn)
        self.schedule = ScheduleRepository(self._conn)
        self.rosters = RosterRepository(self._conn)
        self.federation = FederationRepository(self._conn)
        self.protocols = ProtocolRepository(self._conn)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None
        try:
            self._conn.rollback()  # a no-op after commit(); undoes everything otherwise
        finally:
            self._conn.close()
            self._conn = None
        if isinstance(exc, IntegrityError):
            raise Conflict(f"refused by the database: {exc.orig}") from exc

    def commit(self) -> None:
        assert self._conn is not None
        try:
            self._conn.commit()
        except IntegrityError as exc:
            raise Conflict(f"refused by the database: {exc.orig}") from exc
        # no new transaction here: the next statement, if any, begins one (SQLAlchemy's autobegin)

    def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()
        self._conn.begin()
