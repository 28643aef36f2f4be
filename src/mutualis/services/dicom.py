"""Use cases of the DICOM side (IHE Scheduled Workflow): the worklist a modality pulls, the
performed procedure steps it reports, and images reaching the PACS.

Errors are Mutualis errors; the DICOM adapter turns them into DIMSE statuses in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from mutualis.domain.audit import Action, AuditEvent
from mutualis.domain.errors import Conflict, MutualisError, NotFound, PermissionDenied, Problem, ValidationError
from mutualis.domain.orders import OrderStatus, transition
from mutualis.domain.territory import Territory
from mutualis.domain.worklist import Mpps, MppsStatus, PerformedSeries, person_name, worklist_item
from mutualis.engines import mwl
from mutualis.services import reading
from mutualis.services.booking import to_local, to_utc
from mutualis.services.ports import UnitOfWork

log = logging.getLogger("mutualis.dicom")


class DuplicateMpps(Conflict):
    """An MPPS with this SOP Instance UID exists already."""


class MppsClosed(Conflict):
    """The performed procedure step is COMPLETED or DISCONTINUED and may no longer change."""


class Pacs(Protocol):
    def studies_for_accession(self, accession_number: str) -> Sequence[Any]: ...


def known_calling_aes(uow: UnitOfWork) -> dict[str, str]:
    with uow:
        return uow.worklist.ae_titles()


def _territory_of(uow: UnitOfWork, calling_ae: str) -> Territory:
    territory_id = uow.worklist.territory_of(calling_ae.strip())
    t = uow.territories.get(territory_id) if territory_id else None
    if t is None:
        raise PermissionDenied(f"calling AE title {calling_ae!r} is not a machine of any territory")
    return t


def _plain(value: object) -> str | None:
    """A query value usable as a database filter: single, no wildcard."""
    return value if isinstance(value, str) and value and not any(c in value for c in "*?\\") else None


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _date_bounds(value: object, t: Territory) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of a DA single value or range, for the database filter (matching stays exact)."""
    if not isinstance(value, str) or not value:
        return None, None
    low, sep, high = value.partition("-")
    first = _day(low) if low else None
    last = _day(high if sep else low) if (high or not sep) else None
    start = to_utc(datetime.combine(first, time()), t) if first else None
    end = to_utc(datetime.combine(last + timedelta(days=1), time()), t) if last else None
    return start, end


def worklist(uow: UnitOfWork, calling_ae: str, query: mwl.Item, *, now: datetime) -> list[dict[str, mwl.Value]]:
    """The worklist items of the caller's territory that match ``query``, as return keys."""
    with uow:
        t = _territory_of(uow, calling_ae)
        sps_list = query.get("ScheduledProcedureStepSequence")
        sps: Mapping[str, object] = sps_list[0] if isinstance(sps_list, Sequence) and sps_list and not isinstance(
            sps_list, str) else {}
        start, end = _date_bounds(sps.get("ScheduledProcedureStepStartDate"), t)
        rows = uow.worklist.scheduled(t.id, start=start, end=end, modality=_plain(sps.get("Modality")),
                                      ae_title=_plain(sps.get("ScheduledStationAETitle")))
        equipment = {e.id: e for e in t.equipment}
        exams = {x.code: x for x in t.exams}
        names = {p.rpps: person_name(p.last_name, p.first_name) for p in t.practitioners}
        items = [worklist_item(t, r.order, r.patient, equipment[r.equipment], exams[r.order.exam],
                               to_local(r.start, t), names.get(r.order.requester, r.order.requester))
                 for r in rows if r.order.exam in exams]
        found = mwl.search(query, items)  # type: ignore[arg-type]
        uow.audit.append(AuditEvent(at=now, actor=f"dicom:{calling_ae.strip()}", action=Action.READ,
                                    resource="worklist", territory=t.id, address=None,
                                    detail={"items": len(found),
                                            "accessions": [str(f.get("AccessionNumber", "")) for f in found[:50]]}))
        uow.commit()
    return found


def _accession(attrs: Mapping[str, Any]) -> str:
    steps = attrs.get("ScheduledStepAttributesSequence") or []
    for step in steps:
        if step.get("AccessionNumber"):
            return str(step["AccessionNumber"])
    return str(attrs.get("AccessionNumber") or "")


def _series(attrs: Mapping[str, Any]) -> tuple[PerformedSeries, ...]:
    return tuple(PerformedSeries(str(s.get("SeriesInstanceUID", "")), str(s.get("Modality", "")),
                                 str(s.get("SeriesDescription", "")), int(s.get("NumberOfInstances", 0) or 0))
                 for s in attrs.get("PerformedSeriesSequence") or [])


def mpps_in_progress(uow: UnitOfWork, calling_ae: str, sop_instance_uid: str, attrs: Mapping[str, Any], *,
                     now: datetime) -> Mpps:
    """N-CREATE: the modality started the exam (arrived → in progress)."""
    with uow:
        t = _territory_of(uow, calling_ae)
        if uow.mpps.get(sop_instance_uid) is not None:
            raise DuplicateMpps(f"MPPS {sop_instance_uid} exists already")
        status = attrs.get("PerformedProcedureStepStatus")
        if status != MppsStatus.IN_PROGRESS.value:
            raise ValidationError(Problem("PerformedProcedureStepStatus",
                                          f"must be IN PROGRESS at creation, not {status!r}"))
        accession = _accession(attrs)
        order_id = uow.worklist.order_by_accession(accession) if accession else None
        order = uow.orders.get(order_id, for_update=True) if order_id else None
        if order is None or order.territory != t.id:
            raise ValidationError(Problem("AccessionNumber", f"no order {accession!r} in {t.id}"))
        current = order.status
        if current is OrderStatus.SCHEDULED:
            current = transition(current, OrderStatus.ARRIVED)  # the desk may not have recorded the arrival
        transition(current, OrderStatus.IN_PROGRESS)
        m = Mpps(sop_instance_uid, order.id or 0, MppsStatus.IN_PROGRESS, calling_ae.strip(), _series(attrs))
        uow.mpps.add(m, now)
        uow.orders.set_status(order.id or 0, OrderStatus.IN_PROGRESS, now)
        uow.audit.append(AuditEvent(at=now, actor=f"dicom:{calling_ae.strip()}", action=Action.CREATE,
                                    resource="mpps", resource_id=sop_instance_uid, territory=t.id,
                                    detail={"order": order.id, "status": m.status.value}))
        uow.commit()
    return m


def mpps_update(uow: UnitOfWork, calling_ae: str, sop_instance_uid: str, attrs: Mapping[str, Any], *,
                now: datetime) -> Mpps:
    """N-SET: more series, or the end of the exam (COMPLETED → acquired, DISCONTINUED → discontinued)."""
    with uow:
        t = _territory_of(uow, calling_ae)
        m = uow.mpps.get(sop_instance_uid, for_update=True)
        if m is None:
            raise NotFound("MPPS", sop_instance_uid)
        if m.status is not MppsStatus.IN_PROGRESS:
            raise MppsClosed(f"MPPS {sop_instance_uid} is {m.status.value} and may no longer be updated")
        wanted = attrs.get("PerformedProcedureStepStatus") or m.status.value
        try:
            status = MppsStatus(wanted)
        except ValueError as exc:
            raise ValidationError(Problem("PerformedProcedureStepStatus", f"unknown status {wanted!r}")) from exc
        series = _series(attrs) or m.series
        order = uow.orders.get(m.order_id, for_update=True)
        assert order is not None
        if status is MppsStatus.COMPLETED:
            transition(order.status, OrderStatus.ACQUIRED)
            uow.orders.set_status(order.id or 0, OrderStatus.ACQUIRED, now)
        elif status is MppsStatus.DISCONTINUED:
            transition(order.status, OrderStatus.DISCONTINUED)
            uow.orders.set_status(order.id or 0, OrderStatus.DISCONTINUED, now)
        uow.mpps.update(sop_instance_uid, status, series, now)
        uow.audit.append(AuditEvent(at=now, actor=f"dicom:{calling_ae.strip()}", action=Action.UPDATE,
                                    resource="mpps", resource_id=sop_instance_uid, territory=t.id,
                                    detail={"order": order.id, "status": status.value, "series": len(series)}))
        uow.commit()
    return Mpps(m.sop_instance_uid, m.order_id, status, m.station_ae, series)


def check_pacs(uow: UnitOfWork, territory_id: str, pacs: Callable[[str], Pacs], *, now: datetime) -> list[int]:
    """Ask each site's PACS (QIDO-RS) for the acquired exams not yet seen there; mark those found
    ready for reading. Returns the order ids marked."""
    with uow:
        t = uow.territories.get(territory_id)
        if t is None:
            raise NotFound("territory", territory_id)
        waiting = uow.worklist.awaiting_images(t.id)
    urls = {s.id: s.pacs_url for s in t.sites}
    clients: dict[str, Pacs] = {}
    found = []
    site_of = {order_id: site for order_id, _, site in waiting}
    try:
        for order_id, accession, site in waiting:
            url = urls.get(site)
            if not url or not accession:
                continue
            client = clients.setdefault(url, pacs(url))
            try:
                if client.studies_for_accession(accession):
                    found.append(order_id)
            except MutualisError as exc:  # one PACS down must not hide the others
                log.warning("PACS %s: %s", url, exc)
    finally:
        for client in clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
    if found:
        with uow:
            for order_id in found:
                uow.worklist.mark_images_available(order_id, now)
                order = uow.orders.get(order_id)
                if order is not None:
                    reading.enqueue(uow, t, order, site_of[order_id], now)  # ready for reading
            uow.audit.append(AuditEvent(at=now, actor="pacs", action=Action.UPDATE, resource="order",
                                        territory=t.id, detail={"images_available": found}))
            uow.commit()
    return found
