"""Model format and framework versions as upstream's ``pkg/modelver`` reads and compares
them: ``[v]major[.minor[.patch[.dev…][-pre…][+build…]]]``.

Missing minor and patch parts count as 0, but the number of parts given (the precision)
is kept: ordered comparisons need equal precision and prefix, equality does not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

_DIGITS = frozenset("0123456789")


class Operator(StrEnum):
    EQUAL = "Equal"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_OR_EQUAL = "GreaterThanOrEqual"


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prefix: str
    precision: int
    pre: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    dev: tuple[str, ...] = ()

    @property
    def unofficial(self) -> bool:
        """A pre-release, build or dev version only ever equals itself."""
        return bool(self.pre or self.build or self.dev)

    def sort_key(self) -> tuple[int, int, int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        # tuples of strings compare as upstream's slices do: item by item, then by length
        return (self.major, self.minor, self.patch, self.pre, self.build, self.dev)


@lru_cache(maxsize=4096)  # a catalogue repeats few versions, and selection compares many
def parse(text: str) -> Version:
    """Read a version; ``ValueError`` for anything upstream's parser rejects."""
    if not text:
        raise ValueError("empty version")
    parts = text.split(".", 2)
    major_text = parts[0].removeprefix("v")
    prefix = "v" if major_text != parts[0] else ""
    rest = parts[2] if len(parts) > 2 else "0"
    rest, build = _suffix(rest, "+")
    rest, pre = _suffix(rest, "-")
    patch_text, dev = _suffix(rest, ".")
    return Version(
        major=_number(major_text),
        minor=_number(parts[1] if len(parts) > 1 else "0"),
        patch=_number(patch_text),
        prefix=prefix,
        precision=len(parts),
        pre=pre,
        build=build,
        dev=dev,
    )


def _suffix(text: str, separator: str) -> tuple[str, tuple[str, ...]]:
    head, found, tail = text.partition(separator)
    if not found:
        return text, ()
    items = tuple(tail.split("."))
    if "" in items:
        raise ValueError(f"empty identifier after {separator!r}")
    return head, items


def _number(text: str) -> int:
    if not text or not set(text) <= _DIGITS:
        raise ValueError(f"not a number: {text!r}")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"leading zero: {text!r}")
    return int(text)


def satisfies(runtime_version: str, operator: str | None, model_version: str) -> bool:
    """Whether a runtime's version requirement accepts a model's version.

    The operator is the runtime's: ``GreaterThan`` means the runtime's version is greater
    than the model's. Unparsable versions never match; an unknown operator means Equal."""
    try:
        runtime, model = parse(runtime_version), parse(model_version)
    except ValueError:
        return False
    if runtime.unofficial or model.unofficial or operator in (None, Operator.EQUAL):
        return runtime.sort_key() == model.sort_key()
    if runtime.precision != model.precision or runtime.prefix != model.prefix:
        return False
    if operator == Operator.GREATER_THAN:
        return runtime.sort_key() > model.sort_key()
    if operator == Operator.GREATER_THAN_OR_EQUAL:
        return runtime.sort_key() >= model.sort_key()
    return runtime.sort_key() == model.sort_key()
