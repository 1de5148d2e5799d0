"""deploy/monitoring: the alert rules pass promtool, the dashboard is well formed, and the
compose file's monitoring profile provisions Prometheus and Grafana from these files.
(That every query names a live metric is checked against a real scrape in
tests/workers/test_operability.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from config.settings import ROOT
from tests.support.observability import (
    ALERTS,
    DASHBOARD,
    MONITORING,
    alert_queries,
    dashboard_queries,
    metrics_named_in,
)


def test_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package 'prometheus'): rules not checked")
    checked = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_alerts_the_issue_asks_for_exist_each_with_a_runbook_entry():
    rules = yaml.safe_load(ALERTS.read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "CheckoutFailureRatioHigh",
        "QueueDepthGrowing",
        "OutboxStuck",
        "JobOverdue",
        "FailedTasksWaiting",
        "SearchBacklogHigh",
        "HttpServerErrorsHigh",
    } <= names
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(names) if f"`{name}`" not in readme] == []


def test_every_dashboard_panel_has_a_query_of_our_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert all(metrics_named_in([t["expr"]]) for t in panel["targets"]), panel["title"]
    assert "bookstore_http_request_seconds_bucket" in metrics_named_in(dashboard_queries())
    assert metrics_named_in(alert_queries())


def test_compose_monitoring_profile_provisions_prometheus_and_grafana_from_these_files():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    mounted = " ".join(
        volume for name in ("prometheus", "grafana") for volume in services[name]["volumes"]
    )
    for path in ("prometheus.yml", "alerts.yml", "grafana/provisioning", "grafana/dashboards"):
        assert f"./deploy/monitoring/{path}" in mounted
        assert (MONITORING / path).exists()
    scrape = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = {
        target
        for config in scrape["scrape_configs"]
        for static in config["static_configs"]
        for target in static["targets"]
    }
    hosts = {target.split(":")[0] for target in targets}
    assert hosts <= set(services), hosts - set(services)
