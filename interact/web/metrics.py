"""Prometheus metrics: requests and latency by endpoint in every process, `/metrics` to scrape.

Every request is counted (`interact_http_requests_total` by surface, endpoint, method and status)
and timed (`interact_http_request_duration_seconds` by surface and endpoint). Endpoints are the
route names, never paths, so a scan of random URLs adds no series (they are all "unmatched").

`GET /metrics` answers in the Prometheus text format with those series and the platform's
figures read at scrape time (services.operations: open cases by status, overdue cases, the
outbox's waiting and given-up mail and its oldest waiting message's age). It is part of the back
office (the staff network allow-list applies); a public host answers it only to the addresses in
INTERACT_METRICS_ALLOWED_NETWORKS (404 to everyone else, and to all when that is unset).

Under gunicorn's several worker processes set PROMETHEUS_MULTIPROC_DIR (interact/deploy does):
each process writes its series there and a scrape of any worker adds them all up.
"""
from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..services import operations
from .pages import client_in, parse_networks

REQUESTS = Counter("interact_http_requests_total", "HTTP requests answered.",
                   ["surface", "endpoint", "method", "status"])
LATENCY = Histogram("interact_http_request_duration_seconds", "Time to answer an HTTP request.",
                    ["surface", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class PlatformCollector:
    """The platform's figures, read from the database at each scrape."""

    def collect(self):
        figures = operations.figures()
        open_cases = GaugeMetricFamily("interact_open_cases", "Open cases by status.", labels=["status"])
        for status, n in figures.open_by_status.items():
            open_cases.add_metric([status], n)
        yield open_cases
        yield GaugeMetricFamily("interact_overdue_cases", "Open cases past their deadline.", value=figures.overdue)
        outbox = GaugeMetricFamily("interact_outbox_messages", "Mail waiting (pending) or given up (dead).",
                                   labels=["status"])
        for status, n in figures.outbox_by_status.items():
            outbox.add_metric([status], n)
        yield outbox
        yield GaugeMetricFamily("interact_outbox_oldest_pending_seconds",
                                "Age of the oldest mail waiting to be sent (0 when none waits).",
                                value=figures.oldest_pending_seconds)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        surface = current_app.config["INTERACT_SURFACE_NAME"]
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        REQUESTS.labels(surface, endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(surface, endpoint).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request of `app`."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)


def make_blueprint(surface: str) -> Blueprint:
    """`GET /metrics` (blueprint "metrics"); on the public surface for allowed networks only."""
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics():
        """The Prometheus text exposition of this host's processes and the platform's figures."""
        if surface == "public":
            allowed = parse_networks(current_app.config.get("INTERACT_METRICS_ALLOWED_NETWORKS", ""))
            if not allowed or not client_in(allowed):
                abort(404)
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(REQUESTS)
            registry.register(LATENCY)
        registry.register(PlatformCollector())
        response = Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
