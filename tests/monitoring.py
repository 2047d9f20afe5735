"""The Grafana dashboard and Prometheus alert rules of deploy/monitoring, and the metric
names their queries use, found with a small PromQL tokenizer (names, not full parsing)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MONITORING = Path(__file__).resolve().parents[1] / "deploy" / "monitoring"
DASHBOARD = MONITORING / "ome-dashboard.json"
ALERTS = MONITORING / "ome-alerts.yaml"
SCRAPE_WRITTEN = frozenset({"up"})
"""Series Prometheus writes itself for each target, not on any /metrics."""

KEYWORDS = frozenset(
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
        "group_right", "offset", "bool", "inf", "nan", "atan2",
    }
)  # fmt: skip
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][\w:]*")
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][\w:]*)\s*,")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions or
    aggregations (followed by ``(``), keywords, label names or Grafana variables."""
    text = _STRINGS.sub('""', expr)
    text = _VARIABLES.sub("1m", text)
    text = _BRACES.sub("", text)
    text = _BRACKETS.sub("", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        if word.lower() in KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def alert_expressions() -> dict[str, str]:
    """Each rule's name (alert or record) and its expression."""
    rules: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
    }


def dashboard_expressions() -> dict[str, str]:
    """Each panel target's expression, and the queries of the template variables, by where
    they are (panel title and refId)."""
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    found: dict[str, str] = {}
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets") or []:
            found[f"{panel['title']} {target['refId']}"] = target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            match = _LABEL_VALUES.search(query)
            found[f"variable {variable['name']}"] = match.group(1) if match else query
    return found


def _panels(panels: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def exported_names(exposition: str) -> set[str]:
    """Every series name a /metrics text can hold: the samples present, and for each
    family declared (``# TYPE``), its series even before the first sample (a labelled
    family shows none until a label set is used)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            elif kind == "summary":
                names |= {f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
