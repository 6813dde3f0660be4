"""The four services and their make-believe back ends: a ride-hailing dispatch in miniature.

`frontend` answers `GET /dispatch?customer=ID`: it asks `customer` for the customer's location,
`driver` for drivers near it, then `route` for each driver's ETA (in parallel), and picks the
closest. The back ends are sleeps dressed as spans: a MySQL with a small connection pool and the
odd very slow query, a Redis that sometimes times out (retried), a route computation. Customer 999
has a broken row, so dispatching it fails with a 5xx all the way up: there are always error traces.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from pyjaeger.cmd.demo.traced_http import CallError, Handler, Reply, http_get

__all__ = ["CUSTOMERS", "TRAFFIC_CUSTOMERS", "ServiceURLs", "Frontend", "Customer", "Driver", "Route"]

# id → (name, location "x,y"); 999's location was lost: its lookups fail.
CUSTOMERS: dict[str, tuple[str, str | None]] = {
    "104": ("Harbor Bakery", "231,773"),
    "219": ("Nightjar Books", "615,118"),
    "358": ("Copper Kettle Cafe", "402,559"),
    "472": ("Lantern Florist", "874,306"),
    "999": ("Orphaned Account", None),
}
# The order the traffic generator asks for customers in: one request in eight fails.
TRAFFIC_CUSTOMERS = ("104", "219", "358", "472", "219", "999", "104", "358")

MYSQL_CONNECTIONS = 3  # few enough that bursts queue for one, visible as a long SELECT
SLOW_QUERY_RATE = 0.06
REDIS_TIMEOUT_RATE = 0.08
REDIS_TIMEOUT_S = 0.03
REDIS_ATTEMPTS = 3
DRIVERS_PER_QUERY = 4
ROUTE_WORKERS = 8


def _sleep_ms(low: float, high: float) -> None:
    time.sleep(random.uniform(low, high) / 1000)


@dataclass(frozen=True)
class ServiceURLs:
    customer: str
    driver: str
    route: str


class Frontend:
    def __init__(self, tracer: Tracer, urls: ServiceURLs) -> None:
        self.tracer = tracer
        self.urls = urls
        # Shared and bounded, as a real frontend's would be: under load the route calls queue.
        self.pool = ThreadPoolExecutor(ROUTE_WORKERS, thread_name_prefix="demo-frontend-route")

    def routes(self) -> Mapping[str, Handler]:
        return {"/dispatch": self.dispatch}

    def dispatch(self, params: Mapping[str, str]) -> Reply:
        span = trace.get_current_span()
        customer_id = params.get("customer", "")
        span.set_attribute("customer.id", customer_id)
        try:
            customer = http_get(
                self.tracer, f"{self.urls.customer}/customer?customer={quote(customer_id)}", "customer"
            )
        except CallError as e:
            return _failed(span, 404 if e.status == 404 else 502, f"customer lookup failed: {e}")
        location = str(customer["location"])
        try:
            drivers = http_get(
                self.tracer, f"{self.urls.driver}/drivers?location={quote(location)}", "driver"
            )
        except CallError as e:
            return _failed(span, 503 if e.status == 503 else 502, f"driver search failed: {e}")
        # Each call runs in a copy of this context so its CLIENT span is a child of the dispatch.
        calls: list[tuple[dict[str, Any], Future[Any]]] = [
            (d, self.pool.submit(contextvars.copy_context().run, self._route, d, location)) for d in drivers
        ]
        etas: list[tuple[float, str]] = []
        for driver, future in calls:
            try:
                etas.append((float(future.result()["eta_seconds"]), str(driver["driver_id"])))
            except CallError:
                continue  # that driver is left out; the others may still do
        if not etas:
            return _failed(span, 502, "no route could be computed")
        eta, driver_id = min(etas)
        span.set_attribute("driver.id", driver_id)
        span.add_event("dispatched", {"driver.id": driver_id, "eta.seconds": eta, "candidates": len(etas)})
        return Reply(200, {"customer": customer["name"], "driver": driver_id, "eta_seconds": eta})

    def _route(self, driver: Mapping[str, Any], dropoff: str) -> Any:
        pickup = quote(str(driver["location"]))
        return http_get(
            self.tracer, f"{self.urls.route}/route?pickup={pickup}&dropoff={quote(dropoff)}", "route"
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _failed(span: trace.Span, status: int, message: str) -> Reply:
    span.add_event("dispatch failed", {"message": message})
    return Reply(status, {"error": message})


class Customer:
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._connections = threading.BoundedSemaphore(MYSQL_CONNECTIONS)

    def routes(self) -> Mapping[str, Handler]:
        return {"/customer": self.customer}

    def customer(self, params: Mapping[str, str]) -> Reply:
        customer_id = params.get("customer", "")
        trace.get_current_span().set_attribute("customer.id", customer_id)
        row = self._select(customer_id)
        if row is None:
            return Reply(404, {"error": f"no customer {customer_id}"})
        name, location = row
        if location is None:
            raise ValueError(f"customer {customer_id} has no location on record")
        return Reply(200, {"id": customer_id, "name": name, "location": location})

    def _select(self, customer_id: str) -> tuple[str, str | None] | None:
        statement = f"SELECT * FROM customer WHERE customer_id = {customer_id!r}"
        with self.tracer.start_as_current_span(
            "SELECT",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "mysql",
                "db.name": "customers",
                "db.operation": "SELECT",
                "db.statement": statement,
                "peer.service": "mysql",
                "net.peer.name": "mysql",
                "net.peer.port": 3306,
                "customer.id": customer_id,
            },
        ) as span:
            waited = time.monotonic()
            with self._connections:
                waited = time.monotonic() - waited
                if waited > 0.005:
                    span.add_event("waited for a connection", {"wait.ms": round(waited * 1000, 1)})
                if random.random() < SLOW_QUERY_RATE:
                    span.add_event("slow query: table lock held by a reporting job")
                    _sleep_ms(250, 450)
                else:
                    _sleep_ms(15, 35)
            row = CUSTOMERS.get(customer_id)
            span.set_attribute("db.rows_returned", 0 if row is None else 1)
            return row


class Driver:
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def routes(self) -> Mapping[str, Handler]:
        return {"/drivers": self.drivers}

    def drivers(self, params: Mapping[str, str]) -> Reply:
        location = params.get("location", "")
        found = [d for d in map(self._get_driver, self._find_driver_ids(location)) if d is not None]
        trace.get_current_span().set_attribute("driver.count", len(found))
        if not found:
            return Reply(503, {"error": "no driver available: redis keeps timing out"})
        return Reply(200, found)

    def _redis_span(self, name: str, statement: str, attrs: Mapping[str, str | int]) -> trace.Span:
        return self.tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes={"db.system": "redis", "db.statement": statement, "peer.service": "redis", **attrs},
            record_exception=False,
            set_status_on_exception=False,
        )

    def _find_driver_ids(self, location: str) -> list[str]:
        span = self._redis_span(
            "FindDriverIDs",
            f"GEOSEARCH drivers FROMMEMBER {location} BYRADIUS 5 km",
            {"param.location": location},
        )
        with trace.use_span(span, end_on_exit=True):
            _sleep_ms(8, 18)
            ids = [f"T7{random.randrange(100, 1000)}" for _ in range(DRIVERS_PER_QUERY)]
            span.set_attribute("db.rows_returned", len(ids))
            return ids

    def _get_driver(self, driver_id: str) -> dict[str, str] | None:
        for attempt in range(1, REDIS_ATTEMPTS + 1):
            span = self._redis_span(
                "GetDriver",
                f"HGETALL driver:{driver_id}",
                {"driver.id": driver_id, "retry.attempt": attempt},
            )
            with trace.use_span(
                span, end_on_exit=True, record_exception=False, set_status_on_exception=False
            ):
                if random.random() < REDIS_TIMEOUT_RATE:
                    time.sleep(REDIS_TIMEOUT_S)
                    error = TimeoutError(f"redis timeout after {REDIS_TIMEOUT_S * 1000:.0f} ms")
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, str(error)))
                    continue
                _sleep_ms(2, 6)
                location = f"{random.randrange(1000)},{random.randrange(1000)}"
                return {"driver_id": driver_id, "location": location}
        return None


class Route:
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def routes(self) -> Mapping[str, Handler]:
        return {"/route": self.route}

    def route(self, params: Mapping[str, str]) -> Reply:
        pickup, dropoff = params.get("pickup", ""), params.get("dropoff", "")
        with self.tracer.start_as_current_span(
            "compute_route",
            kind=SpanKind.INTERNAL,
            attributes={"route.pickup": pickup, "route.dropoff": dropoff},
        ) as span:
            _sleep_ms(10, 30)
            eta = _eta_seconds(pickup, dropoff)
            span.set_attribute("route.eta_seconds", eta)
        return Reply(200, {"pickup": pickup, "dropoff": dropoff, "eta_seconds": eta})


def _eta_seconds(pickup: str, dropoff: str) -> float:
    try:
        (x1, y1), (x2, y2) = ([float(v) for v in p.split(",")] for p in (pickup, dropoff))
    except ValueError:
        return 600.0
    # Manhattan distance in made-up blocks, a block a second, plus a minute to get going.
    return round(60 + abs(x1 - x2) + abs(y1 - y2), 1)
