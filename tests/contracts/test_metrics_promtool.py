"""Every metric the system defines passes ``promtool check metrics`` (Prometheus' own lint),
in every process: each family is exposed with a sample, as the process that moves it would
(a family without samples shows only its HELP and TYPE, which hid the bad name in the API)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from routing.operations import metrics
from tests.contracts.tools import promtool_check_metrics


def _exposition_of_every_family() -> str:
    registry = CollectorRegistry()
    defined = [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]
    assert len(defined) >= 10
    for m in defined:
        kind = type(m)
        copy = kind(m._name, m._documentation, m._labelnames, registry=registry)  # type: ignore[attr-defined]
        child = copy.labels(*["x"] * len(m._labelnames)) if m._labelnames else copy  # type: ignore[attr-defined]
        if kind is Counter:
            child.inc()
        elif kind is Gauge:
            child.set(1)
        elif kind is Histogram:
            child.observe(0.1)
    return generate_latest(registry).decode()


def test_every_metric_passes_promtool() -> None:
    result = promtool_check_metrics(_exposition_of_every_family())
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_catches_a_gauge_named_like_a_counter() -> None:
    registry = CollectorRegistry()
    Gauge("routing_example_total", "A gauge with a counter's suffix.", registry=registry).set(1)
    result = promtool_check_metrics(generate_latest(registry).decode())
    assert result.returncode != 0
    assert "_total" in result.stdout + result.stderr
