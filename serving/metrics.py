"""Prometheus metrics in a registry per app (several apps in one process do not clash).

Requests are counted and timed by route template, never by raw path, so a scanner cannot grow
the label set; the model's version and the age of its as-of date are read at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from time import perf_counter

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.holder import ModelHolder

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Estimates answer in well under a millisecond; reloads and batches take longer.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
UNMATCHED = "unmatched"


class Metrics:
    """The app's registry: HTTP counts and latencies, and the model's state and reloads."""

    def __init__(self, holder: ModelHolder) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "method", "status")
        self.requests = Counter(
            "delai_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "delai_http_request_duration_seconds",
            "Time to answer HTTP requests.",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ModelCollector(holder))
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            values = (route, method, str(status))
            children = self._children[key] = (
                self.requests.labels(*values),
                self.latency.labels(*values),
            )
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ModelCollector(Collector):
    def __init__(self, holder: ModelHolder) -> None:
        self.holder = holder

    def collect(self) -> Iterator[Metric]:
        state = self.holder.state
        served = state.served
        ready = GaugeMetricFamily("delai_model_ready", "1 when a model is being served.")
        ready.add_metric([], 1.0 if served else 0.0)
        yield ready
        reloads = CounterMetricFamily(
            "delai_model_reloads", "Model reload attempts, by outcome.", labels=["outcome"]
        )
        for outcome in ("swapped", "unchanged", "failed"):
            reloads.add_metric([outcome], float(self.holder.reloads[outcome]))
        yield reloads
        if served is None:
            return
        table = served.prepared.table
        info = InfoMetricFamily("delai_model", "The model being served.")
        info.add_metric(
            [],
            {
                "model_version": table.model_version,
                "as_of": table.as_of.isoformat(),
                "source": served.source,
            },
        )
        yield info
        age = GaugeMetricFamily(
            "delai_model_as_of_age_days", "Days between the model's as-of date and today."
        )
        age.add_metric([], float((date.today() - table.as_of).days))
        yield age
        loaded = GaugeMetricFamily(
            "delai_model_loaded_timestamp_seconds", "When the serving model was loaded."
        )
        loaded.add_metric([], served.loaded_at.timestamp())
        yield loaded


class MetricsMiddleware:
    """Counts and times every HTTP answer by route template, method and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.observe(route, method, status, perf_counter() - started)
