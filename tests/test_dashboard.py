"""The Grafana dashboard and the ``monitoring`` compose profile: every metric a panel queries is one
the bot exports (a renamed metric would leave a panel silently empty), and Prometheus scrapes the
port the bot's metrics listen on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from bot.core.metrics import Metrics
from index import IndexStats
from tests.support import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "policybot.json"
PROMETHEUS = REPO / "deploy" / "prometheus" / "prometheus.yml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",)}
PROMETHEUS_OWN = {"up"}
"""Series Prometheus writes itself for every target."""

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
NOT_METRICS = re.compile(r"""\{[^}]*\}|\[[^\]]*\]|"[^"]*"|\b(?:by|without)\s*\([^)]*\)|\b\d+(?:\.\d+)?(?:e-?\d+)?\b""")
"""Label matchers, ranges, strings, grouping labels and numbers: removed before reading names."""
FUNCTIONS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "irate", "changes", "histogram_quantile",
    "clamp_min", "clamp_max", "by", "without", "on", "ignoring", "and", "or", "unless",
}  # fmt: skip


def expressions(panels: list[dict[str, Any]]) -> Iterator[str]:
    for panel in panels:
        yield from (t["expr"] for t in panel.get("targets", []))
        yield from expressions(panel.get("panels", []))


def metric_names(expr: str) -> set[str]:
    return {n for n in NAME.findall(NOT_METRICS.sub(" ", expr)) if n not in FUNCTIONS}


def exported() -> set[str]:
    """Every series name the bot's registry serves, with an index present (its gauges come with it);
    by family, since a labelled counter has no sample until its first label is counted."""
    stats = IndexStats("v000003-abc", 1, 2, 3, None, None, built_at="", model="m", data_dir="")
    names: set[str] = set()
    for family in Metrics(lambda: stats).registry.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def test_metric_names_are_read_out_of_promql() -> None:
    expr = 'histogram_quantile(0.9, sum by (le) (rate(policybot_answer_seconds_bucket{job="x"}[5m])))'
    assert metric_names(expr) == {"policybot_answer_seconds_bucket"}
    assert metric_names("max(a_total) / clamp_min(sum(b), 1e-9)") == {"a_total", "b"}


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = set().union(*(metric_names(e) for e in expressions(dashboard["panels"])))
    names = exported()
    assert {"policybot_votes_total", "policybot_written_answers_total", "policybot_digests_posted_total"} <= used
    assert used - PROMETHEUS_OWN <= names, f"not exported: {sorted(used - PROMETHEUS_OWN - names)}"


def test_the_dashboard_reads_the_provisioned_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasources = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p["datasource"]["uid"] in uids for p in panels)


def test_prometheus_scrapes_the_port_the_bot_listens_on() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    environment = compose["services"]["policybot"]["environment"]
    assert environment["POLICYBOT_METRICS_HOST"] == "0.0.0.0"  # reachable from the prometheus container
    (job,) = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    (target,) = [t for group in job["static_configs"] for t in group["targets"]]
    assert target == f"policybot:{environment['POLICYBOT_METRICS_PORT']}"
    assert job["job_name"] == "policybot"  # the dashboard's process panels select job="policybot"
