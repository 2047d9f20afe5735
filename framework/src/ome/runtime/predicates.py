"""Predicates: which events are worth a reconcile. Every watch of a controller can carry
them; an event is queued only if all of them allow it. Combine with ``&``, ``|`` and ``~``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ome.client import KubeObject


class Predicate:
    """Allows every event; subclasses (or :func:`predicate`) narrow it down."""

    def create(self, obj: KubeObject) -> bool:
        return True

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return True

    def delete(self, obj: KubeObject) -> bool:
        return True

    def generic(self, obj: KubeObject) -> bool:
        return True

    def __and__(self, other: Predicate) -> Predicate:
        return _Combined(all, (self, other))

    def __or__(self, other: Predicate) -> Predicate:
        return _Combined(any, (self, other))

    def __invert__(self) -> Predicate:
        return _Not(self)


class HoldingPredicate(Predicate):
    """A predicate that may turn an event down for now and hand it back later: the
    watch it filters gives it, through :meth:`bind`, the way to deliver an object's event
    again (as a create, through every predicate of the watch). Unbound, it decides at
    once. Only a watch's own predicates are bound, not those inside ``&``, ``|``, ``~``."""

    def bind(self, deliver: Callable[[KubeObject], None]) -> None:
        raise NotImplementedError


class _Combined(Predicate):
    def __init__(
        self, mode: Callable[[Iterable[bool]], bool], parts: tuple[Predicate, ...]
    ) -> None:
        self._mode = mode
        self._parts = parts

    def create(self, obj: KubeObject) -> bool:
        return self._mode(p.create(obj) for p in self._parts)

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return self._mode(p.update(old, new) for p in self._parts)

    def delete(self, obj: KubeObject) -> bool:
        return self._mode(p.delete(obj) for p in self._parts)

    def generic(self, obj: KubeObject) -> bool:
        return self._mode(p.generic(obj) for p in self._parts)


class _Not(Predicate):
    def __init__(self, inner: Predicate) -> None:
        self._inner = inner

    def create(self, obj: KubeObject) -> bool:
        return not self._inner.create(obj)

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return not self._inner.update(old, new)

    def delete(self, obj: KubeObject) -> bool:
        return not self._inner.delete(obj)

    def generic(self, obj: KubeObject) -> bool:
        return not self._inner.generic(obj)


def and_(*predicates: Predicate) -> Predicate:
    return _Combined(all, predicates)


def or_(*predicates: Predicate) -> Predicate:
    return _Combined(any, predicates)


def not_(predicate: Predicate) -> Predicate:
    return _Not(predicate)


class _UpdateOnly(Predicate):
    """Passes creates, deletes and generic events; filters updates by ``changed``."""

    def __init__(self, changed: Callable[[KubeObject, KubeObject], bool]) -> None:
        self._changed = changed

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return self._changed(old, new)


def _meta(obj: KubeObject, field: str) -> Any:
    return obj.get("metadata", {}).get(field)


def generation_changed() -> Predicate:
    """Updates that changed the spec (metadata.generation); status-only writes pass by."""
    return _UpdateOnly(lambda old, new: _meta(old, "generation") != _meta(new, "generation"))


def resource_version_changed() -> Predicate:
    """Updates that really changed the object (periodic resyncs repeat the same version)."""
    return _UpdateOnly(
        lambda old, new: _meta(old, "resourceVersion") != _meta(new, "resourceVersion")
    )


def labels_changed() -> Predicate:
    return _UpdateOnly(
        lambda old, new: (_meta(old, "labels") or {}) != (_meta(new, "labels") or {})
    )


def annotations_changed() -> Predicate:
    return _UpdateOnly(
        lambda old, new: (_meta(old, "annotations") or {}) != (_meta(new, "annotations") or {})
    )


class _Matches(Predicate):
    def __init__(self, match: Callable[[KubeObject], bool]) -> None:
        self._match = match

    def create(self, obj: KubeObject) -> bool:
        return self._match(obj)

    def update(self, old: KubeObject, new: KubeObject) -> bool:
        return self._match(new)

    def delete(self, obj: KubeObject) -> bool:
        return self._match(obj)

    def generic(self, obj: KubeObject) -> bool:
        return self._match(obj)


def label_selector(match_labels: Mapping[str, str]) -> Predicate:
    """Events of objects whose labels include every pair of ``match_labels``."""
    wanted = dict(match_labels)

    def matches(obj: KubeObject) -> bool:
        labels = _meta(obj, "labels") or {}
        return all(labels.get(k) == v for k, v in wanted.items())

    return _Matches(matches)


def predicate(match: Callable[[KubeObject], bool]) -> Predicate:
    """A predicate from a function of the object (the new one, for updates)."""
    return _Matches(match)
