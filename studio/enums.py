"""A string enum whose members each carry a docstring. Pure Python.

Reason codes (the scheduling core's ``Reason``, the lifecycle's ``Cause``) and statuses are
machine-readable values beside a sentence; each member says what it means, so that the code,
the API's schema and a reader of the code all find the same explanation
(``Reason.QUOTA_BUSY.__doc__``)."""

from __future__ import annotations

from enum import Enum


class DocumentedEnum(str, Enum):
    """Members are declared as ``NAME = "Value", "what it means"``; ``str(member)`` is the value."""

    def __new__(cls, value: str, doc: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member

    def __str__(self) -> str:
        return self.value
