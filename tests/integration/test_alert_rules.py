"""The alert rules that ship in deploy/prometheus: valid, passing their own unit tests, and
watching only metrics Onramp really exports (so that a renamed metric can't silence one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "onramp-alerts.yml"
RULE_TESTS = RULES_DIR / "onramp-alerts.test.yml"
# Histograms and counters appear on /metrics with these suffixes.
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        where = "CI must install it" if os.environ.get("CI") == "true" else "run it"
        pytest.fail(
            f"promtool is missing: `make prometheus` installs Debian's prometheus package "
            f"({where}); the shipped alert rules cannot be checked without it."
        )
    return found


@pytest.mark.parametrize(
    "args",
    [("check", "rules", RULES.name), ("test", "rules", RULE_TESTS.name)],
    ids=["check", "test"],
)
def test_promtool_accepts_the_rules_and_their_tests(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [_promtool(), *args], cwd=RULES_DIR, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def _rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _names_used() -> set[str]:
    return {
        name for rule in _rules() for name in re.findall(r"\bonramp_[a-z0-9_]+", str(rule["expr"]))
    }


def _exported(client: FlaskClient) -> set[str]:
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert scraped.status_code == 200
    names = set()
    for family in text_string_to_metric_families(scraped.text):
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
    return names


def test_every_metric_the_rules_watch_is_exported(app: Flask, client: FlaskClient) -> None:
    app.config["METRICS_TOKEN"] = "scrape-token"
    # Counters without a labelled child yet show no samples: their family name counts.
    exported = _exported(client)
    exported |= {f"{name}{suffix}" for name in exported for suffix in SUFFIXES}
    # The ledger's verdict is exported once `flask consents verify` has run.
    assert app.test_cli_runner().invoke(args=["consents", "verify"]).exit_code == 0
    exported |= _exported(client)
    used = _names_used()
    assert used, "the rules name no Onramp metric: the pattern no longer finds them"
    assert used <= exported, f"the rules watch metrics Onramp does not export: {used - exported}"


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    operations = (RULES_DIR.parents[1] / "docs" / "operations.md").read_text()
    for rule in _rules():
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in {"page", "ticket"}, rule["alert"]
        anchor = str(rule["alert"]).lower()
        assert f"docs/operations.md#{anchor}" in annotations["description"], rule["alert"]
        assert f"### {rule['alert']}" in operations, f"no runbook section for {rule['alert']}"
