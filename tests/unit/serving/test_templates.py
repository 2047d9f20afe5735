"""Placeholder expansion."""

from __future__ import annotations

from ome.serving.templates import Values

VALUES = Values({"Name": "chat", "Namespace": "team"}, {"Annotations": {"k": "v"}})


def test_fields_and_map_lookups_are_expanded() -> None:
    text = '{{.Name}}.{{ .Namespace }}/{{ index .Annotations "k" }}'
    assert VALUES.render(text) == "chat.team/v"


def test_a_missing_map_key_gives_nothing() -> None:
    assert VALUES.render('[{{ index .Annotations "missing" }}]') == "[]"


def test_other_templates_are_left_alone() -> None:
    jinja = "{% if x %}{{ message['content'] }}{% endif %} {{ .Unknown }} {{ index .Labels \"a\" }}"
    assert VALUES.render(jinja) == jinja


def test_render_all_walks_json_values() -> None:
    value = {"args": ["--name={{ .Name }}", 3], "env": [{"value": "{{.Namespace}}"}]}
    assert VALUES.render_all(value) == {"args": ["--name=chat", 3], "env": [{"value": "team"}]}
