"""Kubernetes' naming rules for object names, namespaces, label keys and label values,
with the API server's wording, so that offline validation fails where the server does."""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _rfc1123_problem(
    value: str, limit: int, pattern: re.Pattern[str], what: str, characters: str
) -> str | None:
    if len(value) > limit:
        return f"must be no more than {limit} characters"
    if not pattern.match(value):
        return (
            f"a lowercase RFC 1123 {what} must consist of lower case {characters}, "
            "and must start and end with an alphanumeric character"
        )
    return None


def subdomain_problem(value: str) -> str | None:
    """Why ``value`` is no RFC 1123 subdomain (the rule for most object names), or None."""
    characters = "alphanumeric characters, '-' or '.'"
    return _rfc1123_problem(value, 253, DNS1123_SUBDOMAIN, "subdomain", characters)


def label_problem(value: str) -> str | None:
    """Why ``value`` is no RFC 1123 label (the rule for namespaces), or None."""
    characters = "alphanumeric characters or '-'"
    return _rfc1123_problem(value, 63, DNS1123_LABEL, "label", characters)


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is no qualified name ([prefix/]name, the rule for label and annotation
    keys), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if prefix and subdomain_problem(prefix):
        return f"prefix part {subdomain_problem(prefix)}"
    if not name or len(name) > 63 or not _QUALIFIED.match(name):
        return (
            "name part must consist of at most 63 alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is no valid label value, or None."""
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return (
            "a valid label must be an empty string or consist of at most 63 alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return None
