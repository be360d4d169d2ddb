"""Prometheus metrics of the service (``GET /metrics``, prefix ``fairwatch_``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Telemetry"]


class Telemetry:
    """Counters and gauges of one app (its own registry, so several apps can live in a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "fairwatch_events_total", "Events received, by kind and result", ["kind", "result"], registry=self.registry
        )
        self.ingest_seconds = Histogram(
            "fairwatch_ingest_seconds", "Time to validate and durably store a batch", ["kind"], registry=self.registry
        )
        self.disparity = Gauge(
            "fairwatch_disparity",
            "Latest window's disparity per model, metric and statistic",
            ["model", "disparity", "statistic"],
            registry=self.registry,
        )
        self.label_coverage = Gauge(
            "fairwatch_label_coverage",
            "Latest window's share of predictions with an outcome",
            ["model"],
            registry=self.registry,
        )
        self.read_cache_windows = Counter(
            "fairwatch_read_cache_windows_total",
            "Windows of metrics reads whose answer was reused (cells unchanged) or computed",
            ["result"],
            registry=self.registry,
        )
        self.read_cache_bytes = Gauge(
            "fairwatch_read_cache_bytes", "Bytes of window answers kept for reuse", registry=self.registry
        )
        self.alerts_firing = Gauge(
            "fairwatch_alerts_firing",
            "Alerts currently firing, per model and rule (0 for rules with none)",
            ["model", "rule"],
            registry=self.registry,
        )

    def record_read_cache(self, reused: int, computed: int, size: int) -> None:
        """One metrics read: windows whose answers were reused and computed, bytes of answers kept."""
        self.read_cache_windows.labels("reused").inc(reused)
        self.read_cache_windows.labels("computed").inc(computed)
        self.read_cache_bytes.set(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)
