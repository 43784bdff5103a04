"""Shared building blocks of every spec kind.

- `FrozenDict`, `freeze`, `thaw`: hashable, immutable containers and back.
- `Issues`: collects errors and warnings, placing each at its field's line and column.
- `Section`: reads one mapping of a spec at a path: typed field readers that report problems
  (with a fix) instead of raising, and a check for unknown fields with "did you mean".
- `Spec`: base dataclass of all spec pieces: freezes its containers, writes itself back to data
  (fields made with `hidden()`, such as a loaded component, are not written back) in the order of
  its declaration, or of `ORDER` when a piece lists fields it inherits in another order.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from .errors import SpecError, SpecIssue, sort_issues
from .yaml_loader import Locations, join

Scalar = str | int | float | bool


class FrozenDict(Mapping):
    """An immutable, hashable mapping (values must be hashable too: see `freeze`)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._data = dict(*args, **kwargs)
        self._hash: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


EMPTY: FrozenDict = FrozenDict()


def freeze(value: Any) -> Any:
    """Deep-convert dicts to FrozenDict and lists to tuples."""
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Deep-convert spec objects and frozen containers to plain JSON-serialisable data."""
    if isinstance(value, Spec):
        return value.to_data()
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of spec pieces. Plain dicts/lists given to the constructor are frozen.

    `to_data()` writes the piece in Azure ML YAML shape, omitting unset (None) and empty fields;
    `KEYS` renames attributes whose YAML name is not a Python name (`schema` -> `$schema`).
    Fields are written (and listed by `yaml_fields()`) in the order they are declared, or in the
    order of `field_order()` (`ORDER`: every YAML field) when that is not empty.
    """

    KEYS: ClassVar[Mapping[str, str]] = {}
    EXAMPLE: ClassVar[str] = ""  # shown when the value is not a mapping
    ORDER: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def field_order(cls) -> tuple[str, ...]:
        return cls.ORDER

    @classmethod
    def yaml_fields(cls) -> tuple[str, ...]:
        return tuple(cls.KEYS.get(field.name, field.name) for field in _yaml_fields(cls))

    @classmethod
    def section(cls, issues: Issues, path: str, value: Any, *, lenient: bool = False) -> Section | None:
        """Start reading `value` as this piece: it must be a mapping of its fields only
        (with `lenient`, unknown fields are only warned about)."""
        return Section.read(issues, path, value, cls.yaml_fields(), example=cls.EXAMPLE, lenient=lenient)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            frozen = freeze(value)
            if frozen is not value:
                object.__setattr__(self, field.name, frozen)

    def to_data(self) -> Any:
        data = {}
        for field in _yaml_fields(self):
            value = getattr(self, field.name)
            if value is None or (isinstance(value, (Mapping, tuple)) and not value):
                continue
            data[self.KEYS.get(field.name, field.name)] = thaw(value)
        return data


def hidden(default: Any = None) -> Any:
    """A dataclass field that is not a YAML field (e.g. a component loaded from a referenced file):
    compared like the others, never written back by `to_data()`."""
    return dataclasses.field(default=default, metadata={"hidden": True})


_FIELDS: dict[type, list[dataclasses.Field]] = {}  # class -> its YAML fields, in order


def _yaml_fields(spec: Any) -> list[dataclasses.Field]:
    cls = spec if isinstance(spec, type) else type(spec)
    found = _FIELDS.get(cls)
    if found is None:
        found = [field for field in dataclasses.fields(cls) if not field.metadata.get("hidden")]
        order = cls.field_order()
        if order:
            position = {key: index for index, key in enumerate(order)}
            keys = {field.name: cls.KEYS.get(field.name, field.name) for field in found}
            missing = [key for key in keys.values() if key not in position]
            if missing:
                raise TypeError(f"{cls.__name__}.field_order() leaves out {', '.join(missing)}")
            found.sort(key=lambda field: position[keys[field.name]])
        _FIELDS[cls] = found
    return found


class Issues:
    """Collects problems while reading a spec; knows where each field path is in the file."""

    def __init__(self, *, source: str | None = None, locations: Locations | None = None):
        self.source = source
        self.locations = locations or Locations()
        self.errors: list[SpecIssue] = []
        self.warnings: list[SpecIssue] = []

    def issue(self, path: str, message: str, *, key: bool = False) -> SpecIssue:
        if self.locations.is_replaced(path):
            return SpecIssue(path, f"{message} (value given with --set)", None, None, self.source)
        where = self.locations.find(path, key=key)
        line, column = (where.line, where.column) if where else (None, None)
        return SpecIssue(path, message, line, column, self.source)

    def error(self, path: str, message: str, *, key: bool = False) -> None:
        self.errors.append(self.issue(path, message, key=key))

    def warn(self, path: str, message: str, *, key: bool = False) -> None:
        self.warnings.append(self.issue(path, message, key=key))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise SpecError(sort_issues(self.errors))


def describe(value: Any) -> str:
    """How a wrong value is shown in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def one_of(choices: Iterable[str]) -> str:
    choices = list(choices)
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]


MAX_INTEGER = 2**31 - 1  # the largest value of a database integer column (counts, seconds, ...)
UNSTORABLE = "contains a NUL character (\\0) or an unpaired surrogate, which cannot be stored"


def storable_text(text: str) -> bool:
    """False for text that no database (PostgreSQL above all) can keep: NULs, lone surrogates."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return is_integer(value) or isinstance(value, float)


class Section:
    """One mapping of a spec being read at `path`.

    Readers return the value (converted) or None when absent or wrong; wrong values are reported
    to `issues` with a message saying what to write instead. A null value counts as absent.
    """

    def __init__(self, issues: Issues, path: str, data: Mapping):
        self.issues = issues
        self.path = path
        self.data = data

    @classmethod
    def read(
        cls, issues: Issues, path: str, value: Any, fields: Iterable[str], *, example: str, lenient: bool = False
    ) -> Section | None:
        """A Section for `value` if it is a mapping whose keys are all in `fields`.

        With `lenient`, unknown keys are warnings (Azure ML ignores them there), not errors.
        """
        if not isinstance(value, Mapping):
            issues.error(path, f"expected a mapping, got {describe(value)}; write for example `{example}`")
            return None
        section = cls(issues, path, value)
        section.only(fields, lenient=lenient)
        return section

    def at(self, key: str) -> str:
        return join(self.path, key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def error(self, key: str, message: str) -> None:
        self.issues.error(self.at(key), message)

    def only(self, fields: Iterable[str], *, context: str = "", lenient: bool = False) -> None:
        """Report every key not in `fields`, suggesting the closest valid one (as a warning
        that the field is ignored when `lenient`)."""
        fields = list(fields)
        for key in self.data:
            if key in fields:
                continue
            guess = suggest(str(key), fields)
            if lenient:
                fix = f"did you mean '{guess}'?" if guess else f"valid fields here are {one_of(fields)}"
                self.issues.warn(self.at(key), f"unknown field '{key}'{context} is ignored; {fix}", key=True)
                continue
            fix = f"did you mean '{guess}'?" if guess else f"remove it; valid fields here are {one_of(fields)}"
            self.issues.error(self.at(key), f"unknown field '{key}'{context}; {fix}", key=True)

    def required(self, key: str, example: str) -> bool:
        if self.has(key):
            return True
        self.error(key, f"required; write for example `{example}`")
        return False

    def text(self, key: str, *, pattern: re.Pattern | None = None, hint: str = "",
             max_length: int | None = None) -> str | None:
        """A string; numbers are accepted and kept as their text (`version: 1` -> "1")."""
        value = self.data.get(key)
        if value is None:
            return None
        if is_integer(value) or isinstance(value, float):
            value = str(value)
        if not isinstance(value, str):
            self.error(key, f"expected text, got {describe(value)}{hint and '; ' + hint}")
            return None
        if not storable_text(value):
            self.error(key, f"{UNSTORABLE}; remove it")
            return None
        if max_length is not None and len(value) > max_length:
            self.error(key, f"is {len(value):,} characters long; write at most {max_length:,}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.error(key, f"{describe(value)} is not valid; {hint}")
            return None
        return value

    def integer(self, key: str, *, minimum: int | None = None, unit: str = "",
                maximum: int = MAX_INTEGER) -> int | None:
        """A whole number (digit strings such as "2" are accepted, as Azure ML does), at most
        `maximum` (by default what a database integer column holds)."""
        value = self.data.get(key)
        if value is None:
            return None
        digits = value.strip() if isinstance(value, str) else ""
        number = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else value
        if is_integer(number) and (minimum is None or number >= minimum) and number <= maximum:
            return number
        bound = f" ≥ {minimum}" if minimum is not None else ""
        if is_integer(number) and number > maximum:
            bound = f" of at most {maximum:,}"
        self.error(key, f"expected an integer{bound}{unit}, got {describe(value)}")
        return None

    def number(
        self, key: str, *, minimum: float | None = None, above: float | None = None, maximum: float | None = None
    ) -> int | float | None:
        """An integer or decimal number (text such as "1e-3" is converted); `above` is an exclusive
        lower bound."""
        value = self.data.get(key)
        if value is None:
            return None
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip()) if value.strip() else value
            except ValueError:
                number = value
        if is_number(number) and math.isfinite(number):
            if (minimum is None or number >= minimum) and (above is None or number > above) and (
                maximum is None or number <= maximum
            ):
                return number
        bounds = [f"≥ {minimum}"] if minimum is not None else []
        bounds += [f"> {above}"] if above is not None else []
        bounds += [f"≤ {maximum}"] if maximum is not None else []
        self.error(key, f"expected a number{' ' + ' and '.join(bounds) if bounds else ''}, got {describe(value)}")
        return None

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error(key, f"expected true or false, got {describe(value)}")
        return None

    def choice(
        self,
        key: str,
        choices: Mapping[str, str],
        *,
        what: str,
        normalise=str.lower,
        wrong_side: Mapping[str, str] | None = None,
    ) -> str | None:
        """One of `choices` (normalised spelling -> canonical value), compared after `normalise`.

        `wrong_side` maps values that belong elsewhere to the explanation shown for them.
        """
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            found = choices.get(normalise(value.strip()))
            if found is not None:
                return found
        allowed = list(dict.fromkeys(choices.values()))
        if isinstance(value, str) and wrong_side and value.lower() in wrong_side:
            self.error(key, f"'{value}' {wrong_side[value.lower()]}; use {one_of(allowed)}")
            return None
        guess = suggest(value, allowed) if isinstance(value, str) else None
        fix = f"did you mean '{guess}'? Allowed: {one_of(allowed)}" if guess else f"use {one_of(allowed)}"
        self.error(key, f"unknown {what} {describe(value)}; {fix}")
        return None

    def text_list(self, key: str, *, hint: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            return tuple(value)
        self.error(key, f"expected a list of text, got {describe(value)}; {hint}")
        return ()

    def mapping(self, key: str, *, expected: str = "a mapping") -> Mapping | None:
        """The mapping at `key`, or None when absent or not a mapping ("expected <expected>, got ...")."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, Mapping):
            self.error(key, f"expected {expected}, got {describe(value)}")
            return None
        return value

    def text_map(self, key: str, *, allow_null: bool = False,
                 limits: tuple[int, int, int] | None = None) -> FrozenDict:
        """A flat mapping of names to text (tags, properties, environment variables); `limits`
        is (most entries, longest name, longest value)."""
        value = self.mapping(key, expected="a mapping of names to values")
        if value is None:
            return EMPTY
        result = {}
        if limits is not None and len(value) > limits[0]:
            self.error(key, f"has {len(value):,} entries; keep at most {limits[0]:,}")
            return EMPTY
        for name, item in value.items():
            if limits is not None and (len(str(name)) > limits[1] or (isinstance(item, str) and len(item) > limits[2])):
                self.issues.error(join(self.at(key), str(name)[:40]),
                                  f"is too long: names may have at most {limits[1]:,} characters and values "
                                  f"{limits[2]:,}; shorten it (keep large data in the job's outputs)")
                continue
            if not storable_text(str(name)) or (isinstance(item, str) and not storable_text(item)):
                self.issues.error(join(self.at(key), str(name)[:40]), f"{UNSTORABLE}; remove it")
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif is_integer(item) or isinstance(item, float):
                item = str(item)
            if isinstance(item, str) or (item is None and allow_null):
                result[str(name)] = item
            else:
                shown = "nothing" if item is None else describe(item)
                self.issues.error(join(self.at(key), name), f"expected a text value, got {shown}; quote it")
        return FrozenDict(result)

    def any_map(self, key: str) -> FrozenDict:
        """A free-form mapping, kept as written (frozen)."""
        value = self.mapping(key)
        return EMPTY if value is None else freeze(value)
