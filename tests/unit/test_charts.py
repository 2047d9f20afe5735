"""The Helm charts: generated files current with manifests/ and deploy/monitoring/, every
value documented in the README's table, and the defaults valid under the values schema.
(Rendering them takes helm: tests/integration/test_helm_charts.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
generate = load_script(ROOT / "tools" / "charts" / "generate.py")


SETTING_MAPS = frozenset({"resources", "nodeSelector", "affinity", "labels"})
"""Values that are a map of settings, passed on whole (as a pod spec has them)."""


def leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the values a user sets."""
    found: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and key not in SETTING_MAPS:
            found += leaves(value, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}")
    return found


def test_the_generated_files_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("chart", ["ome", "ome-crd"])
def test_every_value_is_documented_and_the_defaults_are_valid(chart: str) -> None:
    values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text()) or {}
    schema = json.loads((CHARTS / chart / "values.schema.json").read_text())
    jsonschema.validate(values, schema)
    readme = (CHARTS / chart / "README.md").read_text()
    undocumented = [name for name in leaves(values) if f"| `{name}` |" not in readme]
    assert not undocumented


def test_the_schema_refuses_unknown_and_mistyped_values() -> None:
    schema = json.loads((CHARTS / "ome" / "values.schema.json").read_text())
    values = yaml.safe_load((CHARTS / "ome" / "values.yaml").read_text())
    for wrong in (
        {**values, "replica": 2},
        {**values, "controllerManager": {**values["controllerManager"], "replicas": "2"}},
        {**values, "image": {**values["image"], "pullPolicy": "Sometimes"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)


def test_templates_put_values_where_manifests_have_settings() -> None:
    """The generator's own output for the Deployment: each value has its place."""
    deployment = (CHARTS / "ome" / "templates" / "manager-deployment.yaml").read_text()
    for expression in (
        "replicas: {{ .Values.controllerManager.replicas }}",
        "image: {{ .Values.image.repository }}:{{ .Values.image.tag }}",
        "{{- with .Values.controllerManager.resources }}",
        "{{- with .Values.controllerManager.nodeSelector }}",
        "{{ if .Values.controllerManager.leaderElection }}--leader-elect",
        "namespace: {{ .Release.Namespace }}",
    ):
        assert expression in deployment
