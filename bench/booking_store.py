"""The PostgreSQL half of the booking benchmark: fill a database with a year of appointments,
time slot searches, and load the HTTP endpoint with concurrent clients."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert, text

from mutualis.adapters.communes import load_communes
from mutualis.adapters.db import tables as T
from mutualis.adapters.db.engine import upgrade
from mutualis.bootstrap import Container, bootstrap
from mutualis.config import Settings
from mutualis.domain.accounts import Role, User
from mutualis.domain.identifiers import nir_key
from mutualis.domain.orders import Order, OrderStatus, Patient
from mutualis.domain.territory import Territory
from mutualis.engines.demand import DemandSettings, GeneratedOrder, generate_demand, modality_demand
from mutualis.engines.fcfs import Access, serve
from mutualis.engines.presence import default_presence
from mutualis.engines.slots import search
from mutualis.services import booking
from mutualis.services.accounts import add_user
from mutualis.services.territories import load_territory

SECRET = "bench-secret-key-not-for-production-0123456789"
ADMIN = User("bench.admin", "Bench", Role.ADMIN)
PASSWORD = "bench password 2026"


def _container(url: str) -> Container:
    return bootstrap(Settings(database_url=url, secret_key=SECRET))


def _unique_nir(nir: str, used: set[str]) -> str:
    """Change the 3-digit birth order number until the NIR is unused (keeps it valid)."""
    base, order = nir[:10], int(nir[10:13])
    while nir in used:
        order = order % 999 + 1
        nir = f"{base}{order:03d}" + nir_key(f"{base}{order:03d}")
    used.add(nir)
    return nir


def _insert_orders(c: Container, t: Territory, orders: Sequence[GeneratedOrder], status: OrderStatus,
                   first_id: int, used: set[str], now: datetime) -> list[tuple[int, GeneratedOrder]]:
    patients, rows = [], []
    for i, o in enumerate(orders):
        oid = first_id + i
        patients.append({"id": oid, "territory_id": t.id, "nir": _unique_nir(o.patient.nir, used),
                         "last_name": o.patient.last_name, "first_name": o.patient.first_name,
                         "birth_date": o.patient.birth_date, "sex": o.patient.sex.value, "insee": o.patient.insee,
                         "phone": o.patient.phone, "created_at": now})
        rows.append({"id": oid, "territory_id": t.id, "patient_id": oid, "exam_code": o.exam,
                     "requester_rpps": o.requester, "requesting_site": o.requesting_site,
                     "priority": o.priority.value, "clinical_info": o.clinical_info, "not_before": o.not_before,
                     "due_by": o.due_by, "status": status.value, "accession_number": f"MUT{oid:010d}",
                     "created_at": now, "updated_at": now})
    with c.engine.begin() as conn:
        for chunk in range(0, len(rows), 5000):
            conn.execute(insert(T.patients), patients[chunk:chunk + 5000])
            conn.execute(insert(T.orders), rows[chunk:chunk + 5000])
    return [(first_id + i, o) for i, o in enumerate(orders)]


def _reset_sequences(c: Container) -> None:
    if c.engine.dialect.name != "postgresql":
        return
    with c.engine.begin() as conn:
        for table in ("patients", "orders", "appointments", "presence", "audit_events"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"))


def fill(t: Territory, url: str, goal: int, seed: int, console: Console) -> int:
    """Store a year of demand served first-come first-served: at least ``goal`` appointments."""
    c = _container(url)
    upgrade(c.engine)
    now = datetime.now(UTC)
    load_territory(c.uow(), t, source="bench", actor="bench", address=None, now=now)
    with c.engine.connect() as conn:
        already = conn.execute(text("SELECT count(*) FROM appointments WHERE active")).scalar() or 0
    if already >= goal:
        console.print(f"{already} appointments already on the books")
        return int(already)
    # a year of demand at 80 % of the opening hours: busy books with free slots left, as a platform
    # in steady state has (at 95 % the staffing makes the queue grow without bound)
    settings = DemandSettings(load_factor=0.8)
    per_day = sum(d.orders_per_day for d in modality_demand(t, settings).values())
    days = int(goal / per_day * 1.08) + 7
    start = now.date() - timedelta(days=days // 2)
    communes = load_communes()
    with console.status(f"generating and serving {days} days of demand (FCFS, pooled)…"):
        orders = generate_demand(t, communes, start, days, seed, settings)
        shifts = default_presence(t, start, days + t.booking.horizon_days + 2)
        outcomes = [o for o in serve(t, orders, shifts, communes, Access.POOLED) if o.start is not None]
    booking.set_presence(c.uow(), ADMIN, t.id, start, start + timedelta(days=days + t.booking.horizon_days + 2),
                         shifts, address=None, now=now)
    used: set[str] = set()
    stored = _insert_orders(c, t, [o.order for o in outcomes], OrderStatus.SCHEDULED, 1, used, now)
    equipment_ids = {}
    with c.uow() as uow:
        equipment_ids = uow.appointments.equipment_ids(t.id)
    rows = [{"order_id": oid, "equipment_id": equipment_ids[out.equipment or ""],
             "start_at": booking.to_utc(out.start, t), "active": True, "created_at": now,
             "end_at": booking.to_utc(out.start, t) + timedelta(
                 minutes=next(x.duration_min for x in t.exams if x.code == out.order.exam))}
            for (oid, _), out in zip(stored, outcomes, strict=True) if out.start is not None]
    with Progress(console=console) as progress:
        task = progress.add_task("storing appointments", total=len(rows))
        for chunk in range(0, len(rows), 5000):
            with c.uow() as uow:  # add_many bumps the machines' version stamps: no stale per-process copy
                uow.appointments.add_many(rows[chunk:chunk + 5000])
                uow.commit()
            progress.advance(task, len(rows[chunk:chunk + 5000]))
    _reset_sequences(c)
    c.engine.dispose()
    console.print(f"{len(rows)} appointments stored over {days} days")
    return len(rows)


def _new_orders(c: Container, t: Territory, n: int, seed: int) -> list[tuple[Order, Patient]]:
    now = datetime.now(UTC)
    generated = generate_demand(t, load_communes(), now.date(), 30, seed + 1)
    picked = random.Random(seed).sample(generated, min(n, len(generated)))
    with c.engine.connect() as conn:
        first = int(conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM orders")).scalar() or 1)
        used = {r[0] for r in conn.execute(text("SELECT nir FROM patients"))}
    picked = [replace(g, not_before=max(g.not_before, now.date())) for g in picked]
    stored = _insert_orders(c, t, picked, OrderStatus.REQUESTED, first, used, now)
    _reset_sequences(c)
    with c.uow() as uow:
        out = []
        for oid, _ in stored:
            order = uow.orders.get(oid)
            assert order is not None
            patient = uow.patients.get(t.id, order.patient_id)
            assert patient is not None
            out.append((order, patient))
    return out


def time_searches(t: Territory, url: str, n: int, seed: int, console: Console) -> tuple[list[float], list[float]]:
    """Seconds per search: the engine alone, and the whole use case (queries, audit, engine)."""
    c = _container(url)
    orders = _new_orders(c, t, n, seed)
    communes = load_communes()
    sites = frozenset(s.id for s in t.sites)
    engine_s, usecase_s = [], []
    with Progress(console=console) as progress:
        task = progress.add_task("timing slot searches", total=len(orders))
        for order, patient in orders:
            now = datetime.now(UTC)
            with c.uow() as uow:
                instance = booking.build_instance(uow, t, order, patient, communes, sites, now)
            t0 = time.perf_counter()
            search(instance)
            engine_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            booking.find_slots(c.uow(), ADMIN, order.id or 0, communes, address="bench", now=now)
            usecase_s.append(time.perf_counter() - t0)
            progress.advance(task)
    c.engine.dispose()
    return engine_s, usecase_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_load(t: Territory, url: str, clients: int, seed: int, console: Console, requests_total: int = 1000,
              think_s: float = 0.0, workers: int = 2) -> dict[str, Any]:
    """GET /api/orders/{id}/slots from ``clients`` concurrent clients, each pausing ``think_s``
    seconds between requests (0: a closed loop that saturates the server)."""
    c = _container(url)
    with c.uow() as uow:
        exists = uow.users.get("bench.agent") is not None
    if not exists:
        add_user(c.uow(), c.hasher, User("bench.agent", "Bench agent", Role.BOOKING_AGENT, t.id,
                                         sites=(t.sites[0].id,)), PASSWORD, actor="bench", address=None,
                 now=datetime.now(UTC))
    order_ids = [o.id or 0 for o, _ in _new_orders(c, t, 200, seed + 7)]
    port = _free_port()
    # the server runs in its own process, as in production: the load generator must not share its GIL
    env = {**os.environ, "MUTUALIS_DATABASE_URL": url, "MUTUALIS_SECRET_KEY": SECRET}
    server = subprocess.Popen([sys.executable, "-m", "mutualis.entrypoints.cli", "serve", "--port", str(port),
                               "--workers", str(workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.2)
    token = httpx.post(f"{base}/api/token", data={"username": "bench.agent", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = -(-requests_total // clients)

    def client(k: int) -> None:
        rng = random.Random(seed * 100 + k)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for _ in range(5):  # warm the connection and each worker's copies (not counted)
                http.get(f"/api/orders/{rng.choice(order_ids)}/slots").raise_for_status()
            for _ in range(per_client):
                t0 = time.perf_counter()
                r = http.get(f"/api/orders/{rng.choice(order_ids)}/slots")
                dt = time.perf_counter() - t0
                r.raise_for_status()
                with lock:
                    latencies.append(dt)
                if think_s:
                    time.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))

    with console.status(f"{clients} clients × {per_client} requests…"):
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - started
    server.terminate()
    server.wait(timeout=30)
    c.engine.dispose()
    return {"latencies": latencies, "rps": round(len(latencies) / elapsed, 1)}


