"""Config fields that say their own meaning and limits: one place for each bound and description.

A config dataclass declares each field with `knob(...)`; `check_knobs` validates an instance
against those declarations (naming the bad field), and `Knob.of` hands the same declarations to
whoever describes the config elsewhere (the service's HTTP schemas take bounds, choices and
descriptions from here, so no limit is written twice).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_META = "hourglass"


@dataclass(frozen=True)
class Knob:
    """What a config field means and which values it takes."""

    doc: str
    low: float | None = None
    high: float | None = None
    choices: type[StrEnum] | None = None
    max_items: int | None = None  # a list of at most this many values, each within the limits
    integer: bool = False  # from the field's type: int, or a tuple of ints
    nullable: bool = False  # from the field's type: None is a value of its own (derived, or off)
    words: tuple[str, ...] = ()  # strings taken as they are besides the numbers ("auto")

    @classmethod
    def of(cls, config: type[Any], name: str) -> Knob:
        """The declaration of field `name` of a config dataclass."""
        for f in dataclasses.fields(config):
            if f.name == name:
                return _declared(f)
        raise KeyError(name)

    def check(self, name: str, value: object) -> None:
        """Raise ValueError naming `name` unless `value` is allowed."""
        if value is None and self.nullable:
            return
        if isinstance(value, str) and value in self.words:
            return
        if self.max_items is not None:
            self._check_items(name, value)
            return
        if self.choices is not None:
            allowed = [choice.value for choice in self.choices]
            if value not in allowed:
                raise ValueError(f"{name}: must be one of {', '.join(allowed)}; got {value!r}")
            return
        kind = int if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"{name}: must be {'an integer' if self.integer else 'a number'}")
        low = -float("inf") if self.low is None else self.low
        high = float("inf") if self.high is None else self.high
        if not low <= value <= high:
            raise ValueError(f"{name}: must lie in [{self.low}, {self.high}]; got {value}")

    def _check_items(self, name: str, value: object) -> None:
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ValueError(
                f"{name}: must be a list of {'integers' if self.integer else 'numbers'}"
            )
        if self.max_items is not None and len(value) > self.max_items:
            raise ValueError(f"{name}: at most {self.max_items} values; got {len(value)}")
        item = dataclasses.replace(self, nullable=False, max_items=None)
        for i, element in enumerate(value):
            item.check(f"{name}.{i}", element)


def knob(default: Any, doc: str, **limits: Any) -> Any:
    """A dataclass field with its meaning and limits (see `Knob`)."""
    return dataclasses.field(default=default, metadata={_META: Knob(doc, **limits)})


def _declared(f: dataclasses.Field[Any]) -> Knob:
    """The field's Knob, with what its type annotation says (int? may it be None?)."""
    annotation = str(f.type).replace(" ", "")
    first = annotation.split("|")[0]
    declared: Knob = f.metadata[_META]
    return dataclasses.replace(
        declared,
        integer=first == "int" or first.startswith("tuple[int"),
        nullable="None" in annotation.split("|")[1:],
    )


class Checked:
    """A config dataclass whose knobs are validated when it is built."""

    def __post_init__(self) -> None:
        check_knobs(self)


def check_knobs(config: object) -> None:
    """Validate every knob of a config dataclass instance; StrEnum values become plain strings."""
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        if _META not in f.metadata:
            continue
        value = getattr(config, f.name)
        _declared(f).check(f.name, value)
        if isinstance(value, StrEnum):
            object.__setattr__(config, f.name, value.value)
        elif isinstance(value, list):
            object.__setattr__(config, f.name, tuple(value))
